package embedded

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// supervise owns the server process: it starts it, reports the first
// start on started, restarts it whenever it exits on its own, and stops
// it when s.stopCtx ends. It runs on one locked OS thread for its whole
// life because the parent-death signal (Pdeathsig) fires when the thread
// that forked the server exits, and Go may retire an unlocked goroutine's
// thread at any time; the thread ends with this goroutine, after the
// server.
func (s *Supervisor) supervise(first context.Context, started chan<- error) {
	runtime.LockOSThread()
	defer close(s.done)
	name := s.spec.Name
	p, err := s.startOnce(first)
	if err != nil {
		s.setHealth(fmt.Errorf("%s did not start: %w", name, err))
		started <- err
		return
	}
	s.setRunning(p)
	started <- nil
	backoff := minBackoff
	for {
		upSince := time.Now()
		select {
		case <-s.stopCtx.Done():
			s.forced = s.stop(p, s.escalate)
			s.setHealth(s.spec.Closed)
			return
		case <-p.Exited():
		}
		if time.Since(upSince) >= maxBackoff {
			backoff = minBackoff
		}
		s.setHealth(fmt.Errorf("%s exited unexpectedly (%v); restarting", name, p.Err()))
		s.spec.Logger.Warn(name+" exited unexpectedly; restarting", "err", p.Err(), "pid", p.PID(), "in", backoff, "log", p.lastLines(s.spec.Log, time.Second))
		// Children of a killed server may live on: postgres's backends
		// still hold its shared memory, and a new postmaster would refuse
		// to start until they are gone.
		WaitGroupGone(s.stopCtx, p.PID(), s.spec.Kill, s.spec.Grace)
		if p = s.restart(&backoff); p == nil {
			s.setHealth(s.spec.Closed)
			return
		}
		s.setRunning(p)
		s.spec.Logger.Info(name+" restarted", "pid", p.PID())
	}
}

// restart starts the server again after each backoff until it is ready,
// or returns nil when the Supervisor is closed meanwhile.
func (s *Supervisor) restart(backoff *time.Duration) *Process {
	for {
		select {
		case <-s.stopCtx.Done():
			return nil
		case <-time.After(*backoff):
		}
		*backoff = min(*backoff*2, maxBackoff)
		p, err := s.startOnce(s.stopCtx)
		if err == nil {
			return p
		}
		if s.stopCtx.Err() != nil {
			return nil
		}
		s.setHealth(fmt.Errorf("%s is down, restart failed: %w", s.spec.Name, err))
		s.spec.Logger.Warn(s.spec.Name+" restart failed", "err", err, "next_in", *backoff)
	}
}

// startOnce launches the server and waits until it is ready; a server
// that does not get there is stopped.
func (s *Supervisor) startOnce(ctx context.Context) (*Process, error) {
	p, err := Launch(s.spec.Command(), s.spec.User, s.spec.Stop, s.spec.Log)
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, p); err != nil {
		s.stop(p, Now)
		return nil, err
	}
	return p, nil
}

func (s *Supervisor) stop(p *Process, escalate <-chan struct{}) (forced bool) {
	return p.Stop(escalate, s.spec.Stop, s.spec.Kill, s.spec.Grace)
}

// waitReady returns once Ping succeeds, or an error if Ping's is Fatal, p
// exits first (with its last log lines) or ctx ends.
func (s *Supervisor) waitReady(ctx context.Context, p *Process) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.spec.Ping(pingCtx)
		cancel()
		if err == nil || IsFatal(err) {
			return err
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited while starting (%v): %s", s.spec.Name, p.Err(), p.lastLines(s.spec.Log, time.Second))
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections in time: %w (last error: %v)", s.spec.Name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
