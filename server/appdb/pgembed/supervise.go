package pgembed

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// Restart delays after an unexpected exit: 1 s, 2 s, 4 s, ... up to 30 s.
// A server that stayed up for maxBackoff starts again from minBackoff.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// supervise owns the postgres process: it starts it, reports the first
// start on started, restarts it whenever it exits on its own, and stops
// it when c.stopCtx ends. It runs on one locked OS thread for its whole
// life because the parent-death signal (Pdeathsig) fires when the thread
// that forked postgres exits, and Go may retire an unlocked goroutine's
// thread at any time; the thread ends with this goroutine, after postgres.
func (c *Cluster) supervise(first context.Context, started chan<- error) {
	runtime.LockOSThread()
	defer close(c.done)
	p, err := c.startOnce(first)
	if err != nil {
		c.setHealth(fmt.Errorf("postgres did not start: %w", err))
		started <- err
		return
	}
	c.setRunning(p)
	started <- nil
	backoff := minBackoff
	for {
		upSince := time.Now()
		select {
		case <-c.stopCtx.Done():
			c.forced = stop(p, c.escalate)
			c.setHealth(ErrClosed)
			return
		case <-p.exited:
		}
		if time.Since(upSince) >= maxBackoff {
			backoff = minBackoff
		}
		c.setHealth(fmt.Errorf("postgres exited unexpectedly (%v); restarting", p.err))
		c.logger.Warn("postgres exited unexpectedly; restarting", "err", p.err, "pid", p.pid(), "in", backoff, "log", c.serverLog.last())
		// Backends of a killed postmaster still hold its shared memory;
		// a new postmaster would refuse to start until they are gone.
		waitGroupGone(c.stopCtx, p.pid(), quitGrace)
		if p = c.restart(&backoff); p == nil {
			c.setHealth(ErrClosed)
			return
		}
		c.setRunning(p)
		c.logger.Info("postgres restarted", "pid", p.pid())
	}
}

// restart starts postgres again after each backoff until it is ready, or
// returns nil when the cluster is closed meanwhile.
func (c *Cluster) restart(backoff *time.Duration) *postmaster {
	for {
		select {
		case <-c.stopCtx.Done():
			return nil
		case <-time.After(*backoff):
		}
		*backoff = min(*backoff*2, maxBackoff)
		p, err := c.startOnce(c.stopCtx)
		if err == nil {
			return p
		}
		if c.stopCtx.Err() != nil {
			return nil
		}
		c.setHealth(fmt.Errorf("postgres is down, restart failed: %w", err))
		c.logger.Warn("postgres restart failed", "err", err, "next_in", *backoff)
	}
}

// startOnce launches postgres and waits until it accepts connections; a
// server that does not get there is stopped.
func (c *Cluster) startOnce(ctx context.Context) (*postmaster, error) {
	p, err := c.launch()
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, p); err != nil {
		stop(p, closedChan)
		return nil, err
	}
	return p, nil
}

// closedChan makes stop escalate at once.
var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()
