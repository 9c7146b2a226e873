package pgembed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// harden closes what a fresh cluster leaves open to every role, so that a
// deployment's role reaches its own database and nothing else: it cannot
// connect to postgres or template1, and databases created from template1
// start with a public schema only their owner may use. The admin is
// superuser and unaffected. It runs at every start, not only after initdb:
// the statements are idempotent and it heals a cluster someone loosened.
func (c *Cluster) harden(ctx context.Context) error {
	steps := []struct{ db, sql string }{
		{"postgres", "REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC"},
		{"template1", "REVOKE ALL ON SCHEMA public FROM PUBLIC"},
	}
	for _, step := range steps {
		cfg, err := pgx.ParseConfig(c.adminURL(step.db))
		if err != nil {
			return err
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return fmt.Errorf("harden: connect to %s: %w", step.db, err)
		}
		_, err = conn.Exec(ctx, step.sql)
		_ = conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("harden: %s: %w", step.sql, err)
		}
	}
	return nil
}
