// Package testenv starts real CodeRunner servers for tests: on SQLite always,
// and on PostgreSQL (each test in its own schema) when TEST_DATABASE_URL is
// set. With CI=true an unreachable PostgreSQL fails the test instead of
// skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/app"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/store"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Database is one storage backend a test runs against.
type Database struct {
	// Name is "sqlite" or "postgres", for subtest names.
	Name string
	// URL is the DATABASE_URL to configure; empty for SQLite.
	URL string
}

// Databases returns SQLite and, if available, a fresh PostgreSQL schema
// that is dropped when the test ends.
func Databases(t testing.TB) []Database {
	t.Helper()
	dbs := []Database{{Name: "sqlite"}}
	if pg, ok := Postgres(t); ok {
		dbs = append(dbs, pg)
	}
	return dbs
}

// Postgres creates a schema of its own for this test in the database named
// by TEST_DATABASE_URL and returns a URL whose search_path selects it.
func Postgres(t testing.TB) (Database, bool) {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	ci := os.Getenv("CI") == "true"
	if base == "" {
		if ci {
			t.Fatal("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
		}
		t.Log("TEST_DATABASE_URL not set: skipping PostgreSQL")
		return Database{}, false
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if ci {
			t.Fatalf("CI=true and PostgreSQL at TEST_DATABASE_URL is unreachable: %v", err)
		}
		t.Logf("PostgreSQL unreachable, skipping it: %v", err)
		return Database{}, false
	}
	schema := "test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Database{Name: "postgres", URL: u.String()}, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DataDir returns a fresh data directory that, like a real one, the
// sandbox uid can traverse (t.TempDir makes 0700 directories, which
// bubblewrap, running as that uid, could not bind-mount from).
func DataDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// JWTSecret is the session-signing secret every test server uses, so tests
// can mint tokens (expired ones, say) the server must judge.
const JWTSecret = "test-secret-0123456789abcdef0123456789abcdef"

// Server is a running CodeRunner server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Config is the configuration it was started with.
	Config config.Config
	// Logs collects the server's log output.
	Logs *SyncBuffer

	cancel context.CancelFunc
	done   chan error
}

// Options adjusts a test server.
type Options struct {
	// Configure edits the configuration before the server starts.
	Configure func(*config.Config)
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// Driver runs the sandboxes; nil means the local (bubblewrap) one.
	Driver sandbox.Driver
	// SelfBinary is the coderunner binary manifest deployments run; empty
	// means the test binary itself (its TestMain serves manifest-serve).
	SelfBinary string
}

// Start runs a server on db, listening on a free loopback port, and stops
// it when the test ends.
func Start(t testing.TB, db Database, opts Options) *Server {
	t.Helper()
	cfg, err := config.Parse([]string{"--data-dir", DataDir(t), "--addr", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.DatabaseURL = db.URL
	cfg.JWTSecret = JWTSecret
	cfg.ShutdownTimeout = 5 * time.Second
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		cancel()
		t.Fatalf("open database: %v", err)
	}
	logs := &SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var appOpts []app.Option
	if opts.Now != nil {
		appOpts = append(appOpts, app.WithClock(opts.Now))
	}
	if opts.Driver != nil {
		appOpts = append(appOpts, app.WithSandboxDriver(opts.Driver))
	}
	if opts.SelfBinary != "" {
		appOpts = append(appOpts, app.WithSelfBinary(opts.SelfBinary))
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	cfg.Addr = ln.Addr().String()
	srv, err := app.New(cfg, store, logger, metrics.NewRegistry(), appOpts...)
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatalf("new server: %v", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Config: cfg, Logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server stop: %v", err)
		}
		_ = store.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// Stop shuts the server down gracefully and returns what Serve returned.
// Calling it again returns nil.
func (s *Server) Stop() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("server did not stop within 30s")
	}
}

// HTTP1Client speaks HTTP/1.1: Connect and gRPC-Web clients, curl-like calls.
func HTTP1Client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second}
}

// H2CClient speaks HTTP/2 without TLS (prior knowledge), as gRPC tools do.
func H2CClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}
