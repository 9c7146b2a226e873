package manifest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// DBFile is the database file's name inside the data directory.
const DBFile = "manifest.db"

// OpenDB opens (creating it if needed) the SQLite database <dataDir>/manifest.db
// the way Serve uses it: WAL so readers run beside the writer, a busy timeout
// so writers wait for each other, and BEGIN IMMEDIATE so that read-then-write
// transactions cannot deadlock. The caller closes it.
func OpenDB(ctx context.Context, dataDir string) (*sql.DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dataDir, DBFile)
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
		_ = f.Close()
	}
	dsn := "file:" + path +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Each SQLite connection has its own page cache and opening one costs a
	// file open and the pragmas: keep a small pool, all of it idle-able.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}
