package migrations

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Projects group deployments. Every owner of a deployment gets a default
// project here and their deployments move into it; other users get theirs
// when they first need one. A Go migration because the new rows need
// UUIDs, which SQLite cannot make.
func registerProjects(set *migrate.Migrations) {
	set.MustRegister(
		func(ctx context.Context, db *bun.DB) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, stmt := range []string{
					`CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
)`,
					`CREATE UNIQUE INDEX projects_owner_name_key ON projects (owner_id, name)`,
					`CREATE UNIQUE INDEX projects_owner_default_key ON projects (owner_id) WHERE is_default`,
					`ALTER TABLE deployments ADD COLUMN project_id TEXT NOT NULL DEFAULT ''`,
					`CREATE INDEX deployments_project_idx ON deployments (project_id)`,
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return moveIntoDefaultProjects(ctx, tx)
			})
		},
		func(ctx context.Context, db *bun.DB) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, stmt := range []string{
					`DROP INDEX deployments_project_idx`,
					`ALTER TABLE deployments DROP COLUMN project_id`,
					`DROP TABLE projects`,
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			})
		})
}

// moveIntoDefaultProjects makes a default project for each owner of a
// deployment and moves their deployments into it.
func moveIntoDefaultProjects(ctx context.Context, tx bun.Tx) error {
	var owners []string
	if err := tx.NewRaw(`SELECT DISTINCT owner_id FROM deployments`).Scan(ctx, &owners); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, owner := range owners {
		id := uuid.Must(uuid.NewV7()).String()
		if _, err := tx.ExecContext(ctx, `INSERT INTO projects (id, owner_id, name, is_default, created_at, updated_at) VALUES (?, ?, 'default', TRUE, ?, ?)`,
			id, owner, now, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET project_id = ? WHERE owner_id = ?`, id, owner); err != nil {
			return err
		}
	}
	return nil
}
