package appconfig

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// projectSecretRow is a row of project_secrets: a secret every deployment
// of the project inherits. Unlike a deployment's, its earlier versions are
// not kept: a rollback runs with the project's current configuration.
type projectSecretRow struct {
	bun.BaseModel `bun:"table:project_secrets"`

	ProjectID  string    `bun:"project_id,pk"`
	Name       string    `bun:"name,pk"`
	KeyID      string    `bun:"key_id,notnull"`
	Ciphertext string    `bun:"ciphertext,notnull"`
	Version    int64     `bun:"version,notnull"`
	UpdatedBy  string    `bun:"updated_by,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

// projectScope is the additional data's scope of a project's secrets,
// apart from any deployment's.
func projectScope(projectID string) string { return "project:" + projectID }

// SetProjectSecret creates or replaces secret name of ownerID's project;
// each running deployment of the project restarts with it.
func (s *Service) SetProjectSecret(ctx context.Context, ownerID, actor, projectID, name, value string) (*Secret, error) {
	if _, err := s.projects.Get(ctx, ownerID, projectID); err != nil {
		return nil, err
	}
	sealed, err := s.keys.Seal([]byte(value), secrets.AdditionalData(projectScope(projectID), name))
	if err != nil {
		return nil, err
	}
	row := &projectSecretRow{ProjectID: projectID, Name: name}
	err = s.deployments.ReconfigureProject(ctx, ownerID, projectID, "project secret "+name+" set", func(ctx context.Context) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			return s.upsertProjectSecret(ctx, tx, row, actor, sealed)
		})
	})
	if err != nil {
		return nil, err
	}
	return &Secret{Name: row.Name, Version: row.Version, UpdatedAt: row.UpdatedAt}, nil
}

// upsertProjectSecret stores sealed as the next version of row's secret.
func (s *Service) upsertProjectSecret(ctx context.Context, tx bun.IDB, row *projectSecretRow, actor string, sealed secrets.Sealed) error {
	now := s.now()
	err := tx.NewSelect().Model(row).WherePK().Scan(ctx)
	exists := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		count, err := tx.NewSelect().Model((*projectSecretRow)(nil)).Where("project_id = ?", row.ProjectID).Count(ctx)
		if err != nil {
			return fmt.Errorf("count project secrets: %w", err)
		}
		if count >= MaxSecrets {
			return errs.Field(errs.KindResourceExhausted, "name", "a project has at most %d secrets; delete one first", MaxSecrets)
		}
		row.CreatedAt = now
	case err != nil:
		return fmt.Errorf("load project secret: %w", err)
	}
	row.Version++
	row.KeyID, row.Ciphertext = sealed.KeyID, base64.StdEncoding.EncodeToString(sealed.Data)
	row.UpdatedBy, row.UpdatedAt = actor, now
	if exists {
		_, err = tx.NewUpdate().Model(row).WherePK().Exec(ctx)
	} else {
		_, err = tx.NewInsert().Model(row).Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("store project secret: %w", err)
	}
	return nil
}

// DeleteProjectSecret removes secret name of ownerID's project; each
// running deployment of the project restarts without it.
func (s *Service) DeleteProjectSecret(ctx context.Context, ownerID, projectID, name string) error {
	if _, err := s.projects.Get(ctx, ownerID, projectID); err != nil {
		return err
	}
	return s.deployments.ReconfigureProject(ctx, ownerID, projectID, "project secret "+name+" deleted", func(ctx context.Context) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			res, err := tx.NewDelete().Model((*projectSecretRow)(nil)).Where("project_id = ? AND name = ?", projectID, name).Exec(ctx)
			if err != nil {
				return fmt.Errorf("delete project secret: %w", err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return errs.Field(errs.KindNotFound, "name", "the project has no secret named %q", name)
			}
			return nil
		})
	})
}

// ListProjectSecrets lists ownerID's project's secrets by name, without
// values.
func (s *Service) ListProjectSecrets(ctx context.Context, ownerID, projectID string) ([]Secret, error) {
	if _, err := s.projects.Get(ctx, ownerID, projectID); err != nil {
		return nil, err
	}
	return s.listSecrets(ctx, "project_secrets", "project_id", projectID)
}

// Shared returns what project id's deployments inherit: its variables and
// its secrets in plaintext, for the sandbox's environment and the log
// masker only.
func (s *Service) Shared(ctx context.Context, projectID string) (map[string]string, map[string]string, error) {
	if projectID == "" {
		return nil, nil, nil
	}
	env, err := s.projects.SharedEnv(ctx, projectID)
	if err != nil {
		return nil, nil, err
	}
	var rows []projectSecretRow
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("project_id = ?", projectID).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("load project secrets: %w", err)
	}
	values := make(map[string]string, len(rows))
	for _, r := range rows {
		plain, err := s.openSealed(r.KeyID, r.Ciphertext, projectScope(r.ProjectID), r.Name)
		if err != nil {
			return nil, nil, err
		}
		values[r.Name] = string(plain)
	}
	return env, values, nil
}
