// Package embeddedtest helps test the embedded servers (pgembed,
// redisembed) against the real programs: fresh homes a system user can
// reach, start and close with the log at hand, and waits.
package embeddedtest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv/syncbuf"
)

// SkipOutsideCI skips a test that needs a server's program, missing
// (err); in CI (CI=true), where make deps installs them, it fails it.
func SkipOutsideCI(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but: %v", err)
	}
	t.Skip(err)
}

// Dir returns a fresh home named name for a server, whose parents a
// system user may pass through (t.TempDir makes them 0700, which would
// stop it when root). missing is why the server's program cannot be
// found, or nil: see SkipOutsideCI.
func Dir(t *testing.T, name string, missing error) string {
	t.Helper()
	if missing != nil {
		SkipOutsideCI(t, missing)
	}
	tmp := t.TempDir()
	for _, d := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, name)
}

// Start calls start with a minute to get there and a logger that writes
// everything to log, which a failure quotes.
func Start[S any](t *testing.T, log *syncbuf.SyncBuffer, start func(context.Context, *slog.Logger) (S, error)) S {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	s, err := start(ctx, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("Start: %v\nlog:\n%s", err, log.String())
	}
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	return s
}

// Server is what the helpers need of a running server.
type Server interface {
	Health() error
	Close(ctx context.Context) error
}

// Close closes s, giving it 30 seconds, and checks that its Health is
// then closed.
func Close(t *testing.T, s Server, closed error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close took %s", time.Since(began).Round(time.Millisecond))
	if !errors.Is(s.Health(), closed) {
		t.Fatalf("Health after Close = %v, want %v", s.Health(), closed)
	}
}

// WaitHealth waits until s is up (Health nil) or down, as up says, for at
// most limit, and returns how long that took.
func WaitHealth(t *testing.T, s Server, up bool, limit time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for (s.Health() == nil) != up {
		if time.Since(began) > limit {
			t.Fatalf("Health = %v after %s, want up=%v", s.Health(), limit, up)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(began)
}

// WaitFor waits until cond holds, for at most 30 seconds.
func WaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
