package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Change says what Update changes; a nil field stays as it is.
type Change struct {
	Name        *string
	Description *string
	// Env replaces the project's shared variables when set.
	Env *map[string]string
}

// Update applies change to ownerID's project id. A change of its shared
// variables restarts each of its running deployments with them.
func (s *Service) Update(ctx context.Context, ownerID, id string, change Change) (*Project, error) {
	p, err := s.Get(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	if change.Name != nil {
		if *change.Name == "" {
			return nil, errs.Field(errs.KindInvalidArgument, "name", "a project needs a name")
		}
		p.Name = *change.Name
	}
	if change.Description != nil {
		p.Description = *change.Description
	}
	var what string
	if change.Env != nil {
		what = describeEnvChange(p.Env, *change.Env)
		p.Env = maps.Clone(*change.Env)
		if p.Env == nil {
			p.Env = map[string]string{}
		}
	}
	p.UpdatedAt = s.now()
	write := func(ctx context.Context) error {
		err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.NewUpdate().Model(p).Column("name", "description", "env", "updated_at").WherePK().Exec(ctx)
			return err
		})
		switch {
		case err == nil:
			return nil
		case store.IsUniqueViolation(err):
			return errs.Field(errs.KindAlreadyExists, "name", "you already have a project named %q", p.Name)
		default:
			return fmt.Errorf("update project: %w", err)
		}
	}
	if what == "" {
		err = write(ctx)
	} else {
		err = s.deployments.ReconfigureProject(ctx, ownerID, id, what, write)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// describeEnvChange says which shared variables a change sets, changes or
// removes, by name; "" when it changes none.
func describeEnvChange(old, next map[string]string) string {
	changed := orchestrator.ChangedNames(old, next)
	if len(changed) == 0 {
		return ""
	}
	return "project variables changed: " + strings.Join(changed, ", ")
}

// SharedEnv returns the variables project id's deployments inherit.
func (s *Service) SharedEnv(ctx context.Context, id string) (map[string]string, error) {
	p := new(Project)
	err := store.DB(ctx, s.db).NewSelect().Model(p).Column("env").Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// A deployment whose project is gone (deleted around it) inherits
		// nothing.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the project's variables: %w", err)
	}
	return p.Env, nil
}
