package appconfig

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/projects"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// MaxSecrets is how many secrets one deployment may have.
const MaxSecrets = 100

// Deployments is what the service needs of the orchestrator: ownership,
// and a configuration change applied under the deployment's lock (a
// running deployment restarts with it, without downtime).
type Deployments interface {
	Get(ctx context.Context, ownerID, id string) (*orchestrator.Deployment, error)
	Reconfigure(ctx context.Context, ownerID, id, what string, change func(ctx context.Context, d *orchestrator.Deployment) error) (*orchestrator.Deployment, error)
	ReconfigureProject(ctx context.Context, ownerID, projectID, what string, change func(ctx context.Context) error) error
}

// Projects is what the service needs of projects: ownership, and the
// variables a project's deployments inherit.
type Projects interface {
	Get(ctx context.Context, ownerID, id string) (*projects.Project, error)
	SharedEnv(ctx context.Context, id string) (map[string]string, error)
}

// Service stores deployments' secrets sealed and gives their values to
// the orchestrator only.
type Service struct {
	db          *bun.DB
	keys        *secrets.Keyring
	deployments Deployments
	projects    Projects
	now         func() time.Time
}

// New returns a Service on db sealing with keys. Call SetDeployments
// before serving: the orchestrator is built with the service as its
// secret source, so the two are wired in two steps.
func New(db *bun.DB, keys *secrets.Keyring, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, keys: keys, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// SetDeployments names the orchestrator the service checks ownership with
// and applies changes through, and the projects whose shared
// configuration it keeps.
func (s *Service) SetDeployments(d Deployments, p Projects) { s.deployments, s.projects = d, p }

// SetSecret creates or replaces secret name of ownerID's deployment; actor
// is the user setting it. A running deployment restarts with it.
func (s *Service) SetSecret(ctx context.Context, ownerID, actor, deploymentID, name, value string) (*Secret, error) {
	sealed, err := s.keys.Seal([]byte(value), secrets.AdditionalData(deploymentID, name))
	if err != nil {
		return nil, err
	}
	var row secretRow
	_, err = s.deployments.Reconfigure(ctx, ownerID, deploymentID, "secret "+name+" set", func(ctx context.Context, _ *orchestrator.Deployment) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			return s.upsert(ctx, tx, &row, deploymentID, name, actor, sealed)
		})
	})
	if err != nil {
		return nil, err
	}
	return &Secret{Name: row.Name, Version: row.Version, UpdatedAt: row.UpdatedAt}, nil
}

// upsert stores sealed as secret name: a new row at version 1, or the
// next version of the existing one. The version is kept beside it too,
// for a rollback to a release that names it.
func (s *Service) upsert(ctx context.Context, tx bun.IDB, row *secretRow, deploymentID, name, actor string, sealed secrets.Sealed) error {
	now := s.now()
	err := tx.NewSelect().Model(row).Where("deployment_id = ? AND name = ?", deploymentID, name).Scan(ctx)
	exists := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		count, err := tx.NewSelect().Model((*secretRow)(nil)).Where("deployment_id = ?", deploymentID).Count(ctx)
		if err != nil {
			return fmt.Errorf("count secrets: %w", err)
		}
		if count >= MaxSecrets {
			return errs.Field(errs.KindResourceExhausted, "name", "a deployment has at most %d secrets; delete one first", MaxSecrets)
		}
		*row = secretRow{DeploymentID: deploymentID, Name: name, CreatedAt: now}
	case err != nil:
		return fmt.Errorf("load secret: %w", err)
	}
	// Versions go on from the highest kept: a secret deleted and set
	// again, or rolled back to an older version, never reuses a number.
	var latest int64
	if err := tx.NewSelect().Model((*versionRow)(nil)).ColumnExpr("COALESCE(MAX(version), 0)").
		Where("deployment_id = ? AND name = ?", deploymentID, name).Scan(ctx, &latest); err != nil {
		return fmt.Errorf("load secret versions: %w", err)
	}
	row.Version = max(latest, row.Version) + 1
	row.KeyID, row.Ciphertext = sealed.KeyID, base64.StdEncoding.EncodeToString(sealed.Data)
	row.UpdatedBy, row.UpdatedAt = actor, now
	if exists {
		_, err = tx.NewUpdate().Model(row).WherePK().Exec(ctx)
	} else {
		_, err = tx.NewInsert().Model(row).Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("store secret: %w", err)
	}
	version := &versionRow{DeploymentID: deploymentID, Name: name, Version: row.Version, KeyID: row.KeyID, Ciphertext: row.Ciphertext, CreatedBy: actor, CreatedAt: now}
	if _, err := tx.NewInsert().Model(version).Exec(ctx); err != nil {
		return fmt.Errorf("store secret version: %w", err)
	}
	return nil
}

// DeleteSecret removes secret name; a running deployment restarts without
// it. A name the deployment has no secret of is NotFound.
func (s *Service) DeleteSecret(ctx context.Context, ownerID, deploymentID, name string) error {
	_, err := s.deployments.Reconfigure(ctx, ownerID, deploymentID, "secret "+name+" deleted", func(ctx context.Context, _ *orchestrator.Deployment) error {
		res, err := store.DB(ctx, s.db).NewDelete().Model((*secretRow)(nil)).Where("deployment_id = ? AND name = ?", deploymentID, name).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete secret: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return errs.Field(errs.KindNotFound, "name", "the deployment has no secret named %q", name)
		}
		return nil
	})
	return err
}

// ListSecrets lists ownerID's deployment's secrets by name, without values.
func (s *Service) ListSecrets(ctx context.Context, ownerID, deploymentID string) ([]Secret, error) {
	if _, err := s.deployments.Get(ctx, ownerID, deploymentID); err != nil {
		return nil, err
	}
	return s.listSecrets(ctx, "deployment_secrets", "deployment_id", deploymentID)
}

// listSecrets lists the secrets of table whose scope column is id, by
// name, with the email of who set each.
func (s *Service) listSecrets(ctx context.Context, table, column, id string) ([]Secret, error) {
	var list []Secret
	err := store.DB(ctx, s.db).NewSelect().TableExpr("? AS s", bun.Ident(table)).
		ColumnExpr("s.name, s.version, s.updated_at, COALESCE(u.email, '') AS updated_by").
		Join("LEFT JOIN users AS u ON u.id = s.updated_by").
		Where("s.? = ?", bun.Ident(column), id).Order("s.name").Scan(ctx, &list)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	return list, nil
}

// Secrets returns deployment id's secrets in plaintext, by name: for the
// sandbox's environment and the log masker, nothing else.
func (s *Service) Secrets(ctx context.Context, id string) (map[string]string, error) {
	var rows []secretRow
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load secrets: %w", err)
	}
	values := make(map[string]string, len(rows))
	for i := range rows {
		plain, err := s.open(&rows[i])
		if err != nil {
			return nil, err
		}
		values[rows[i].Name] = string(plain)
	}
	return values, nil
}

// open decrypts a stored secret, checking it belongs to its row.
func (s *Service) open(r *secretRow) ([]byte, error) {
	return s.openSealed(r.KeyID, r.Ciphertext, r.DeploymentID, r.Name)
}

// openSealed decrypts secret name of scope (a deployment id, or a
// project's projectScope), sealed with key keyID.
func (s *Service) openSealed(keyID, ciphertext, scope, name string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(ciphertext)
	if err == nil {
		var plain []byte
		if plain, err = s.keys.Open(secrets.Sealed{KeyID: keyID, Data: data}, secrets.AdditionalData(scope, name)); err == nil {
			return plain, nil
		}
	}
	return nil, fmt.Errorf("secret %s of %s: %w", name, scope, err)
}

// Forget removes a deleted deployment's secrets and every kept version.
func (s *Service) Forget(ctx context.Context, id string) error {
	return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewDelete().Model((*secretRow)(nil)).Where("deployment_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*versionRow)(nil)).Where("deployment_id = ?", id).Exec(ctx)
		return err
	})
}
