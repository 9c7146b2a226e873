package store_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coderunner/coderunner/migrations"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite"
)

// openBare opens db without applying migrations, with the pragmas
// store.Open uses (SQLite enforces references only with foreign_keys on).
func openBare(t *testing.T, db testenv.Database) *bun.DB {
	t.Helper()
	var conn *bun.DB
	if db.URL != "" {
		sqldb, err := sql.Open("pgx", db.URL)
		if err != nil {
			t.Fatal(err)
		}
		conn = bun.NewDB(sqldb, pgdialect.New())
	} else {
		path := filepath.Join(testenv.DataDir(t), store.SQLiteFile)
		sqldb, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		conn = bun.NewDB(sqldb, sqlitedialect.New())
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// migrationsBefore returns the embedded migrations named before name.
func migrationsBefore(t *testing.T, name string) *migrate.Migrations {
	t.Helper()
	older := fstest.MapFS{}
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path >= name {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		older[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	set := migrate.NewMigrations()
	if err := set.Discover(older); err != nil {
		t.Fatal(err)
	}
	return set
}

// openBefore opens a bare database of db's kind with the SQL migrations
// named before name applied: the database as an older server left it.
func openBefore(t *testing.T, db testenv.Database, name string) *bun.DB {
	t.Helper()
	ctx := context.Background()
	conn := openBare(t, db)
	old := migrate.NewMigrator(conn, migrationsBefore(t, name), migrate.WithMarkAppliedOnSuccess(true))
	if err := old.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return conn
}

// A database at the previous version keeps its log lines through the
// migration that drops log_lines' reference to deployments; afterwards a
// line needs no deployment row (no per-row lookup on insert), and rolling
// back restores the reference and drops lines without a deployment. On
// SQLite the table becomes WITHOUT ROWID.
func TestLogLinesLoseTheirReference(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := openBefore(t, db, "20261128000006")
			now := time.Now().UTC()
			exec := func(query string, args ...any) error {
				_, err := conn.ExecContext(ctx, query, args...)
				return err
			}
			line := func(deployment string, seq int) error {
				return exec("INSERT INTO log_lines (deployment_id, seq, time, stream, phase, text) VALUES (?, ?, ?, 1, 2, ?)",
					deployment, seq, now, "line "+deployment)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(exec("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u1', 'a@example.com', 'x', ?, ?)", now, now))
			must(exec("INSERT INTO deployments (id, owner_id, name, slug, runtime, status, created_at, updated_at) VALUES ('d1', 'u1', 'app', 'app-1', 'nodejs', 'running', ?, ?)", now, now))
			must(line("d1", 1))
			if err := line("ghost", 1); err == nil {
				t.Fatal("before the migration a line without a deployment was accepted")
			}

			must(store.Migrate(ctx, conn))
			count := func(deployment string) int {
				t.Helper()
				var n int
				must(conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM log_lines WHERE deployment_id = ? AND text = ?", deployment, "line "+deployment).Scan(&n))
				return n
			}
			if n := count("d1"); n != 1 {
				t.Fatalf("after the migration d1 has %d lines, want the 1 stored before", n)
			}
			if db.URL == "" {
				// On SQLite the table is stored once, by its key.
				var ddl string
				must(conn.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'log_lines'").Scan(&ddl))
				if !strings.Contains(ddl, "WITHOUT ROWID") {
					t.Fatalf("log_lines is not WITHOUT ROWID:\n%s", ddl)
				}
			}
			must(line("d1", 2))
			if err := line("d1", 2); err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") && !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("a duplicate (deployment, seq) = %v, want the primary key to refuse it", err)
			}
			must(line("ghost", 1))

			all := migrate.NewMigrations()
			must(all.Discover(migrations.FS))
			migrations.Register(all)
			if _, err := migrate.NewMigrator(conn, all).Rollback(ctx); err != nil {
				t.Fatalf("roll back: %v", err)
			}
			if n, ghost := count("d1"), count("ghost"); n != 2 || ghost != 0 {
				t.Fatalf("after rolling back: d1 has %d lines (want 2), ghost %d (want 0)", n, ghost)
			}
			if err := line("ghost", 2); err == nil {
				t.Fatal("after rolling back a line without a deployment was accepted")
			}
		})
	}
}
