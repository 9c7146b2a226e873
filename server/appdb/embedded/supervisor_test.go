package embedded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errClosed = errors.New("test: closed")

// shSpec supervises a shell script as the "nobody" user when root (as
// itself otherwise), ready as soon as ping says so.
func shSpec(t *testing.T, script string, ping func(context.Context) error) Spec {
	t.Helper()
	u, err := ServerUser("nobody")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but: %v", err)
		}
		t.Skip(err)
	}
	logger := slog.New(slog.DiscardHandler)
	return Spec{
		Name: "sh", Closed: errClosed, User: u,
		Log:    NewLog(logger, func(line string) (slog.Level, string, []any) { return slog.LevelDebug, line, nil }),
		Logger: logger,
		// exec: the shell itself is the server, so signals reach the script.
		Command: func() *exec.Cmd { return exec.Command("/bin/sh", "-c", script) },
		Ping:    ping,
		Stop:    syscall.SIGTERM, Kill: syscall.SIGKILL, Grace: time.Second,
	}
}

func ready(context.Context) error { return nil }

func supervise(t *testing.T, spec Spec) *Supervisor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Supervise(ctx, spec)
	if err != nil {
		t.Fatalf("Supervise: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func waitUntil(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func TestSuperviseRestarts(t *testing.T) {
	s := supervise(t, shSpec(t, "exec sleep 60", ready))
	pid := s.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, func() bool { return s.Health() != nil })
	if err := s.Health(); !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Errorf("Health while down = %v", err)
	}
	waitUntil(t, 10*time.Second, func() bool { return s.Health() == nil })
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("PID after restart = %d, was %d", s.PID(), pid)
	}
	if s.Close(context.Background()) {
		t.Error("a clean stop reported forced")
	}
	if !errors.Is(s.Health(), errClosed) {
		t.Errorf("Health after Close = %v", s.Health())
	}
	if s.Close(context.Background()) {
		t.Error("a second Close reported forced")
	}
}

func TestCloseEscalates(t *testing.T) {
	spec := shSpec(t, `trap "" TERM; echo trapped; while :; do sleep 0.05; done`, nil)
	// Ready once the trap is set, or the SIGTERM would end it.
	spec.Ping = func(context.Context) error {
		if !strings.Contains(spec.Log.Last(), "trapped") {
			return errors.New("not yet")
		}
		return nil
	}
	s := supervise(t, spec)
	pid := s.PID()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if !s.Close(ctx) {
		t.Error("Close of a server that ignores SIGTERM did not report forced")
	}
	if syscall.Kill(pid, 0) == nil {
		t.Error("the server still runs after Close")
	}
}

func TestSuperviseFails(t *testing.T) {
	t.Run("exits while starting", func(t *testing.T) {
		notYet := func(context.Context) error { return errors.New("not yet") }
		_, err := Supervise(context.Background(), shSpec(t, "echo broken config; exit 3", notYet))
		if err == nil || !strings.Contains(err.Error(), "broken config") {
			t.Errorf("Supervise = %v, want the server's last lines", err)
		}
	})
	t.Run("fatal ping", func(t *testing.T) {
		refused := errors.New("wrong password")
		began := time.Now()
		_, err := Supervise(context.Background(), shSpec(t, "exec sleep 60", func(context.Context) error { return Fatal(refused) }))
		if !errors.Is(err, refused) || !IsFatal(err) {
			t.Errorf("Supervise = %v, want the fatal error", err)
		}
		if time.Since(began) > 5*time.Second {
			t.Errorf("a fatal ping took %s to fail", time.Since(began))
		}
	})
	t.Run("not ready in time", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := Supervise(ctx, shSpec(t, "exec sleep 60", func(context.Context) error { return errors.New("not yet") }))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Supervise = %v, want DeadlineExceeded", err)
		}
	})
}
