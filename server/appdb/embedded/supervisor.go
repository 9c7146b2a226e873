// Package embedded runs the servers CodeRunner keeps for apps' databases
// (PostgreSQL, Redis) as its own child processes: each as a system user
// of its own when CodeRunner is root, with its output relayed to
// CodeRunner's log, restarted with backoff after an unexpected exit, an
// orphan of a crashed CodeRunner stopped first, and shut down cleanly, or
// harder when that takes too long. What a server is (its command line,
// how to tell it is ready, its files) stays in its own package.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Restart delays after an unexpected exit: 1 s, 2 s, 4 s, ... up to 30 s.
// A server that stayed up for maxBackoff starts again from minBackoff.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// Spec describes one kind of server to Supervise.
type Spec struct {
	// Name is the server's name in health and log messages ("postgres").
	Name string
	// Closed is Health's answer once Close has stopped the server.
	Closed error
	// User runs the server.
	User User
	// Log relays the server's output; Logger gets the Supervisor's own
	// messages.
	Log    *Log
	Logger *slog.Logger
	// Command builds the command line of one run; Launch sets its
	// environment and credentials.
	Command func() *exec.Cmd
	// Ping succeeds once the server serves CodeRunner. It is retried until
	// then, unless its error is marked Fatal (a wrong password will not
	// get better).
	Ping func(ctx context.Context) error
	// Stop asks for a clean shutdown. It is also sent when CodeRunner
	// dies without stopping the server (the parent-death signal).
	Stop syscall.Signal
	// Kill stops the server at once when a clean shutdown takes too long,
	// and clears its process group after an unexpected exit; SIGKILL
	// follows after Grace.
	Kill  syscall.Signal
	Grace time.Duration
}

// Supervisor owns a running server process.
type Supervisor struct {
	spec Spec

	stopCtx  context.Context // ends when Close is called
	stopNow  context.CancelFunc
	escalate chan struct{} // closed when Close's context ends: stop harder
	escOnce  sync.Once
	done     chan struct{} // closed when supervise has stopped the server
	forced   bool          // set by supervise before done: shutdown was not clean

	mu      sync.Mutex
	health  error
	running *Process // the current run, for PID
}

// Supervise starts the server and returns once it answers Ping (or with
// why it did not, the server stopped); from then on it restarts the
// server whenever it exits on its own, until Close.
func Supervise(ctx context.Context, spec Spec) (*Supervisor, error) {
	stopCtx, stopNow := context.WithCancel(context.Background())
	s := &Supervisor{
		spec: spec, stopCtx: stopCtx, stopNow: stopNow,
		escalate: make(chan struct{}), done: make(chan struct{}),
		health: fmt.Errorf("%s: starting", spec.Name),
	}
	started := make(chan error, 1)
	go s.supervise(ctx, started)
	if err := <-started; err != nil {
		<-s.done
		stopNow()
		return nil, err
	}
	return s, nil
}

// Health is nil while the server is up and says why otherwise (starting,
// restarting after an unexpected exit, closed).
func (s *Supervisor) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

// PID is the current server process's id, 0 while none runs.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		return 0
	}
	return s.running.PID()
}

func (s *Supervisor) setRunning(p *Process) {
	s.mu.Lock()
	s.running = p
	s.health = nil
	s.mu.Unlock()
}

func (s *Supervisor) setHealth(err error) {
	s.mu.Lock()
	s.health = err
	s.mu.Unlock()
}

// Close stops supervision and asks the server to shut down cleanly, and
// waits. When ctx ends first it stops the server harder; forced reports
// that. Close may be called more than once.
func (s *Supervisor) Close(ctx context.Context) (forced bool) {
	s.stopNow()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.escOnce.Do(func() { close(s.escalate) })
		<-s.done
	}
	return s.forced
}

// fatal marks an error that waiting will not cure.
type fatal struct{ err error }

func (f fatal) Error() string { return f.err.Error() }
func (f fatal) Unwrap() error { return f.err }

// Fatal marks a Ping error that retrying will not cure, so that a start
// fails at once with it.
func Fatal(err error) error { return fatal{err} }

// IsFatal reports whether err was marked by Fatal.
func IsFatal(err error) bool {
	var f fatal
	return errors.As(err, &f)
}
