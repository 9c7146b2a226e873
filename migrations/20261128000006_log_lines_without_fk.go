package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// log_lines no longer references deployments, and on SQLite it becomes a
// WITHOUT ROWID table. Both are about log ingestion speed:
//
//   - PostgreSQL checked the reference once per stored line (a lookup in
//     deployments for every row a COPY wrote), which held ingestion to
//     ~72k lines/s; without it, over 100k. Deployment rows are never
//     deleted (a deleted deployment is marked DESTROYED and its lines age
//     out by retention), and lines are written only for deployments the
//     server runs, so the reference guarded nothing in practice. Whoever
//     deletes deployment rows must delete their log_lines too.
//   - A SQLite table with a composite primary key keeps every row twice:
//     in the rowid table and in the key's index. WITHOUT ROWID keeps it
//     once, ordered by (deployment_id, seq), which halves the B-tree
//     writes of every insert and of every retention delete.
//
// SQLite cannot drop a constraint, so there the table is rebuilt; the SQL
// differs between the databases, hence a Go migration.
func registerLogLinesWithoutFK(set *migrate.Migrations) {
	set.MustRegister(
		func(ctx context.Context, db *bun.DB) error {
			if db.Dialect().Name() == dialect.PG {
				_, err := db.ExecContext(ctx, "ALTER TABLE log_lines DROP CONSTRAINT IF EXISTS log_lines_deployment_id_fkey")
				return err
			}
			return rebuildLogLines(ctx, db, "", "WITHOUT ROWID", "")
		},
		func(ctx context.Context, db *bun.DB) error {
			// The reference refuses lines of deployments that do not exist,
			// so those are dropped first.
			if db.Dialect().Name() == dialect.PG {
				return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					if _, err := tx.ExecContext(ctx, "DELETE FROM log_lines WHERE deployment_id NOT IN (SELECT id FROM deployments)"); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "ALTER TABLE log_lines ADD CONSTRAINT log_lines_deployment_id_fkey FOREIGN KEY (deployment_id) REFERENCES deployments (id) ON DELETE CASCADE")
					return err
				})
			}
			return rebuildLogLines(ctx, db, "REFERENCES deployments (id) ON DELETE CASCADE", "",
				"WHERE deployment_id IN (SELECT id FROM deployments)")
		})
}

// rebuildLogLines recreates SQLite's log_lines with reference (column
// constraint on deployment_id) and options (after the table definition),
// copying the rows that match where.
func rebuildLogLines(ctx context.Context, db *bun.DB, reference, options, where string) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, stmt := range []string{
			fmt.Sprintf(`CREATE TABLE log_lines_rebuilt (
				deployment_id TEXT NOT NULL %s,
				seq           BIGINT NOT NULL,
				time          TIMESTAMP NOT NULL,
				stream        SMALLINT NOT NULL,
				phase         SMALLINT NOT NULL,
				replica       INTEGER NOT NULL DEFAULT 0,
				text          TEXT NOT NULL,
				truncated     BOOLEAN NOT NULL DEFAULT FALSE,
				PRIMARY KEY (deployment_id, seq)
			) %s`, reference, options),
			`INSERT INTO log_lines_rebuilt (deployment_id, seq, time, stream, phase, replica, text, truncated)
				SELECT deployment_id, seq, time, stream, phase, replica, text, truncated FROM log_lines ` + where,
			"DROP TABLE log_lines",
			"ALTER TABLE log_lines_rebuilt RENAME TO log_lines",
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("rebuild log_lines: %w", err)
			}
		}
		return nil
	})
}
