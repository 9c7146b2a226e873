package manifest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// testDialect gives a test a fresh database of one dialect. The behaviour
// tests run over testDialects: the same requests, the same answers.
type testDialect struct {
	name Database
	// storage makes a new, empty database, dropped when the test ends.
	storage func(t testing.TB) Storage
	// schema lists what snapshot compares: rows of (kind, name, definition).
	schema string
	// columns lists the columns of the table named by its argument, in
	// order, as rows of (name, type).
	columns string
}

var testDialects = []testDialect{
	{
		name:    SQLite,
		storage: func(t testing.TB) Storage { return Storage{DataDir: t.TempDir()} },
		schema:  `SELECT type, name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`,
		columns: `SELECT name, type FROM pragma_table_info(?)`,
	},
	{
		name:    Postgres,
		storage: func(t testing.TB) Storage { return Storage{DatabaseURL: testPostgres(t)} },
		schema: `SELECT 'column', table_name || '.' || column_name, data_type || ' ' || COALESCE(collation_name, '')
FROM information_schema.columns WHERE table_schema = current_schema()
UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
ORDER BY 1, 2`,
		columns: `SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
	},
}

// forEachDialect runs test once per dialect, as subtests named after them.
func forEachDialect(t *testing.T, test func(t *testing.T, td testDialect)) {
	for _, td := range testDialects {
		t.Run(string(td.name), func(t *testing.T) { test(t, td) })
	}
}

// src is manifest src asking for the dialect's database; src's first line
// is its name.
func (td testDialect) src(src string) string {
	if td.name == SQLite {
		return src
	}
	name, rest, _ := strings.Cut(src, "\n")
	return name + "\ndatabase: " + string(td.name) + "\n" + rest
}

// open opens a new, empty database.
func (td testDialect) open(t testing.TB) *sql.DB {
	t.Helper()
	return td.openStorage(t, td.storage(t))
}

// openStorage opens st's database, closed when the test ends.
func (td testDialect) openStorage(t testing.TB, st Storage) *sql.DB {
	t.Helper()
	m := &Manifest{Database: td.name}
	db, err := st.Open(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// client parses src, migrates a new database to it and serves it.
func (td testDialect) client(t testing.TB, src string) *client {
	t.Helper()
	db := td.open(t)
	m := mustParse(t, td.src(src))
	if err := Migrate(context.Background(), db, m); err != nil {
		t.Fatal(err)
	}
	h, err := Handler(m, db)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, h: h, db: db}
}

// testPostgres makes a database of its own for the test on the server at
// TEST_DATABASE_URL, dropped when the test ends, and returns its URL: the
// runtime works in its schema public, as in a deployment's database.
// Without PostgreSQL the test is skipped, unless CI=true, where it fails.
// (server/testenv makes a schema per test, but it imports this package.)
func testPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		withoutPostgres(t, "TEST_DATABASE_URL is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	server, err := OpenPostgres(ctx, base)
	if err != nil {
		withoutPostgres(t, "PostgreSQL at TEST_DATABASE_URL is unreachable: "+err.Error())
	}
	t.Cleanup(func() { server.Close() })
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "manifest_test_" + hex.EncodeToString(b)
	if _, err := server.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create the test database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends the sessions of a Serve that a failed test left running.
		if _, err := server.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop the test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// withoutPostgres skips the test, or under CI=true, where the PostgreSQL
// tests must run, fails it.
func withoutPostgres(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but " + why + ": the PostgreSQL tests must run in CI")
	}
	t.Skip(why + ": skipping PostgreSQL")
}

// replicas opens n connection pools on one new database, as n processes
// would, migrates each to src and serves each: the replicas of a
// deployment.
func (td testDialect) replicas(t *testing.T, src string, n int) []*client {
	t.Helper()
	st := td.storage(t)
	m := mustParse(t, td.src(src))
	out := make([]*client, n)
	for i := range out {
		db := td.openStorage(t, st)
		if err := Migrate(context.Background(), db, m); err != nil {
			t.Fatal(err)
		}
		h, err := Handler(m, db)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = &client{t: t, h: h, db: db}
	}
	return out
}
