package store

import (
	"context"
	"fmt"

	"github.com/coderunner/coderunner/migrations"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// migrationLockKey is the PostgreSQL advisory lock that serialises
// migrations when several replicas start against one database.
const migrationLockKey = 727274001

// Migrate applies every embedded migration not yet applied.
func Migrate(ctx context.Context, db *bun.DB) error {
	set := migrate.NewMigrations()
	if err := set.Discover(migrations.FS); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	migrations.Register(set)
	if db.Dialect().Name() == dialect.PG {
		// An advisory lock is released by PostgreSQL when its session ends,
		// so a replica that crashes mid-migration cannot wedge the others.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey) //nolint:errcheck // released with the session anyway
	}
	migrator := migrate.NewMigrator(db, set, migrate.WithMarkAppliedOnSuccess(true))
	if err := migrator.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
