package manifest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, registered as "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver, registered as "sqlite"
)

// DBFile is the database file's name inside the data directory.
const DBFile = "manifest.db"

// Storage is where Serve keeps a manifest's data: which one it uses is the
// manifest's to say (see Manifest.Engine).
type Storage struct {
	// DataDir holds the SQLite database, manifest.db.
	DataDir string
	// DatabaseURL is the PostgreSQL database's, for database: postgres.
	DatabaseURL string
}

// ErrNoDatabaseURL is Open's error for a manifest asking for PostgreSQL
// where there is none.
var ErrNoDatabaseURL = errors.New("the manifest asks for database: postgres but the deployment has no PostgreSQL database (DATABASE_URL is unset): " +
	"add one with `coderunner db create` or CreateDeployment databases")

// Open opens the database m asks for. The caller closes it.
func (s Storage) Open(ctx context.Context, m *Manifest) (*sql.DB, error) {
	if m.Engine() != Postgres {
		return OpenDB(ctx, s.DataDir)
	}
	if s.DatabaseURL == "" {
		return nil, ErrNoDatabaseURL
	}
	return OpenPostgres(ctx, s.DatabaseURL)
}

// OpenPostgres connects to the PostgreSQL database at url, whose login role
// may create tables in its current schema. The caller closes it.
func OpenPostgres(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// The replicas of a deployment share the database's connection limit:
	// a few each, closed when idle.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

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
