package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// DefaultName is the default project's name.
const DefaultName = "default"

// Project is a row of the projects table.
type Project struct {
	bun.BaseModel `bun:"table:projects"`

	ID          string `bun:"id,pk"`
	OwnerID     string `bun:"owner_id,notnull"`
	Name        string `bun:"name,notnull"`
	Description string `bun:"description,notnull"`
	IsDefault   bool   `bun:"is_default,notnull"`
	// Env holds the variables every deployment of the project inherits.
	Env       map[string]string `bun:"env,type:text,notnull"`
	CreatedAt time.Time         `bun:"created_at,notnull"`
	UpdatedAt time.Time         `bun:"updated_at,notnull"`
}

// Deployments is what the service asks of the orchestrator: the
// deployments in a project, and a change to what they inherit applied to
// each.
type Deployments interface {
	List(ctx context.Context, ownerID string, f orchestrator.ListFilter, offset, limit int) ([]orchestrator.Deployment, int, int, error)
	ReconfigureProject(ctx context.Context, ownerID, projectID, what string, change func(ctx context.Context) error) error
}

// Service manages projects.
type Service struct {
	db          *bun.DB
	deployments Deployments
	now         func() time.Time
}

// New returns a Service on db.
func New(db *bun.DB, deployments Deployments, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, deployments: deployments, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

var errNotFound = errs.Field(errs.KindNotFound, "id", "project not found")

// Default returns ownerID's default project, making it the first time.
func (s *Service) Default(ctx context.Context, ownerID string) (*Project, error) {
	for range 2 {
		p := new(Project)
		err := store.DB(ctx, s.db).NewSelect().Model(p).Where("owner_id = ? AND is_default", ownerID).Scan(ctx)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("find the default project: %w", err)
		}
		now := s.now()
		p = &Project{ID: uuid.Must(uuid.NewV7()).String(), OwnerID: ownerID, Name: DefaultName, IsDefault: true, Env: map[string]string{}, CreatedAt: now, UpdatedAt: now}
		if _, err := store.DB(ctx, s.db).NewInsert().Model(p).Exec(ctx); err == nil {
			return p, nil
		} else if !store.IsUniqueViolation(err) {
			return nil, fmt.Errorf("create the default project: %w", err)
		}
		// Made by a concurrent call, or a project already named "default":
		// read again.
	}
	return nil, errs.New(errs.KindFailedPrecondition, "you have a project named %q that is not your default; rename it", DefaultName)
}

// Get returns ownerID's project id; another owner's is NotFound.
func (s *Service) Get(ctx context.Context, ownerID, id string) (*Project, error) {
	p := new(Project)
	err := store.DB(ctx, s.db).NewSelect().Model(p).Where("id = ? AND owner_id = ?", id, ownerID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get project: %w", err)
	}
	return p, nil
}

// List returns ownerID's projects, the default first, then by name.
func (s *Service) List(ctx context.Context, ownerID string) ([]Project, error) {
	if _, err := s.Default(ctx, ownerID); err != nil {
		return nil, err
	}
	var list []Project
	err := store.DB(ctx, s.db).NewSelect().Model(&list).Where("owner_id = ?", ownerID).OrderExpr("is_default DESC, name").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return list, nil
}

// Create makes a project named name, its deployments to inherit env.
func (s *Service) Create(ctx context.Context, ownerID, name, description string, env map[string]string) (*Project, error) {
	if _, err := s.Default(ctx, ownerID); err != nil {
		return nil, err
	}
	now := s.now()
	if env == nil {
		env = map[string]string{}
	}
	p := &Project{ID: uuid.Must(uuid.NewV7()).String(), OwnerID: ownerID, Name: name, Description: description, Env: env, CreatedAt: now, UpdatedAt: now}
	audit.SetTarget(ctx, "project", p.ID)
	if err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(p).Exec(ctx)
		return err
	}); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, errs.Field(errs.KindAlreadyExists, "name", "you already have a project named %q", name)
		}
		return nil, fmt.Errorf("create project: %w", err)
	}
	return p, nil
}

// Count returns how many deployments (not deleted) project id holds.
func (s *Service) Count(ctx context.Context, ownerID, id string) (int, error) {
	_, total, _, err := s.deployments.List(ctx, ownerID, orchestrator.ListFilter{ProjectID: id}, 0, 1)
	return total, err
}

// Delete deletes a project without deployments; the default one stays.
func (s *Service) Delete(ctx context.Context, ownerID, id string) error {
	p, err := s.Get(ctx, ownerID, id)
	if err != nil {
		return err
	}
	if p.IsDefault {
		return errs.New(errs.KindFailedPrecondition, "the default project cannot be deleted")
	}
	live, total, _, err := s.deployments.List(ctx, ownerID, orchestrator.ListFilter{ProjectID: id}, 0, 10)
	if err != nil {
		return err
	}
	if total > 0 {
		names := make([]string, len(live))
		for i, d := range live {
			names[i] = d.Name
		}
		more := ""
		if total > len(live) {
			more = fmt.Sprintf(" and %d more", total-len(live))
		}
		return errs.New(errs.KindFailedPrecondition, "project %q holds %s%s; delete them first", p.Name, strings.Join(names, ", "), more)
	}
	if err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewDelete().Model(p).WherePK().Exec(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("delete project: %w", err)
	}
	return nil
}
