// Package store opens CodeRunner's database — embedded SQLite by default,
// PostgreSQL when a postgres:// URL is configured — and applies the embedded
// migrations. Domain packages receive the *bun.DB (as bun.IDB) and own their
// models and queries.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, no system library
)

// SQLiteFile is the database file's name inside the data directory.
const SQLiteFile = "coderunner.db"

// Open connects to PostgreSQL when databaseURL is set, else to SQLite in
// dataDir (created if missing), checks the connection and applies pending
// migrations.
func Open(ctx context.Context, databaseURL, dataDir string) (*bun.DB, error) {
	var db *bun.DB
	if databaseURL != "" {
		db = openPostgres(databaseURL)
	} else {
		var err error
		if db, err = openSQLite(dataDir); err != nil {
			return nil, err
		}
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := Migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(databaseURL string) *bun.DB {
	sqldb, _ := sql.Open("pgx", databaseURL)
	sqldb.SetMaxOpenConns(20)
	return bun.NewDB(sqldb, pgdialect.New())
}

// The pgx driver registers itself as "pgx" when stdlib is imported.
var _ = stdlib.GetDefaultDriver

func openSQLite(dataDir string) (*bun.DB, error) {
	if err := os.MkdirAll(dataDir, 0o711); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// Only the server may read the database; SQLite gives its -wal and -shm
	// files the same mode.
	path := filepath.Join(dataDir, SQLiteFile)
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
		_ = f.Close()
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("database file permissions: %w", err)
	}
	// WAL lets readers run beside the writer; busy_timeout makes writers wait
	// for each other instead of failing; _txlock=immediate takes the write
	// lock at BEGIN so two read-then-write transactions cannot deadlock.
	dsn := "file:" + path +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// IsPostgres reports whether db is PostgreSQL, the database servers can
// share (and announce changes on with NOTIFY).
func IsPostgres(db bun.IDB) bool {
	return db.Dialect().Name() == dialect.PG
}

// Dialect names the database in use, for logs and health output.
func Dialect(db bun.IDB) string {
	return db.Dialect().Name().String()
}
