package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// localSandbox is one sandbox of the local driver. Its processes are: bwrap's
// monitor (a child of the server, outside the sandbox's namespaces and
// cgroup), the sandbox's pid 1 (bwrap's init, in the cgroup), the command
// (pid 2 in the sandbox) and its descendants, and with network
// slirp4netns (a child of the server, moved into the cgroup).
type localSandbox struct {
	l       *Local
	name    string
	dirs    []string // the cgroup's directories
	cmd     *exec.Cmd
	exited  chan struct{} // closed when bwrap (cmd) has exited
	waitErr error         // cmd.Wait's result, set before exited is closed
	initPid int           // host pid of the sandbox's pid 1
	slirp   *slirp
	// forwards carries Spec.Forwards (nil without any).
	forwards *forwarder
	// stdout and stderr carry the output to the writers of Spec or of
	// Prepared.Start.
	stdout switchWriter
	stderr startupCapture
	// egressSetup is how long installing the egress filter took (zero
	// without one).
	egressSetup time.Duration

	// nsMu guards netns, the sandbox's network namespace, held open for
	// DialContext until the sandbox has ended.
	nsMu  sync.RWMutex
	netns *os.File

	mainMu sync.Mutex
	main   *os.Process // the command, found on first Signal

	done chan struct{}
	// Set before done is closed.
	status   ExitStatus
	final    Stats
	finalErr error
}

func (s *localSandbox) Name() string          { return s.name }
func (s *localSandbox) Done() <-chan struct{} { return s.done }

// Status implements Sandbox; before Done is closed it is the zero value.
func (s *localSandbox) Status() ExitStatus {
	if !s.isDone() {
		return ExitStatus{}
	}
	return s.status
}

func (s *localSandbox) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
func (s *localSandbox) errEnded(op string) error {
	return fmt.Errorf("sandbox %s: %s: sandbox has ended", s.name, op)
}

// wait runs for the sandbox's lifetime. bwrap's monitor exits when the
// command (pid 2) exits, and takes pid 1 and with it every process of the
// pid namespace along (--die-with-parent); what remains is reaping
// stragglers, stopping slirp4netns, recording how it ended and releasing
// the cgroup.
func (s *localSandbox) wait() {
	<-s.exited
	st := exitStatusOf(s.cmd.ProcessState)

	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
	// The app is gone: stop carrying its connections, before Done says
	// the sandbox's goroutines have ended.
	s.forwards.close()
	if s.slirp != nil {
		s.slirp.stop()
	}
	if err := killCgroup(ctx, s.l.cg, s.name); err != nil {
		errs = append(errs, err)
	}
	if n, err := s.l.cg.oomKills(s.name); err == nil && n > 0 {
		st.OOMKilled = true
	}
	if final, err := s.l.cg.stats(s.name); err == nil {
		s.final = final
	}
	s.nsMu.Lock()
	_ = s.netns.Close()
	s.netns = nil
	s.nsMu.Unlock()
	s.mainMu.Lock()
	if s.main != nil {
		_ = s.main.Release() // its pidfd
	}
	s.mainMu.Unlock()
	if err := removeCgroup(ctx, s.dirs); err != nil {
		errs = append(errs, err)
	}
	s.status = st
	s.finalErr = errors.Join(errs...)
	if s.finalErr != nil {
		s.l.log.Warn("sandbox: releasing resources", "sandbox", s.name, "err", s.finalErr)
	}
	s.l.forget(s)
	close(s.done)
}

// exitStatusOf turns bwrap's exit into the command's. bwrap exits with the
// command's exit code, or 128+n when a signal n killed it (the shell
// convention: 137 is SIGKILL), so such codes are reported as the signal. A
// command that really exits with 129..192 is indistinguishable and is
// reported as killed too.
func exitStatusOf(ps *os.ProcessState) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Signal: syscall.SIGKILL}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ExitStatus{Code: ps.ExitCode()}
	}
	if ws.Signaled() {
		return ExitStatus{Code: -1, Signal: ws.Signal()}
	}
	code := ws.ExitStatus()
	if code > 128 && code <= 128+64 {
		return ExitStatus{Code: -1, Signal: syscall.Signal(code - 128)}
	}
	return ExitStatus{Code: code}
}

// setupError is Start's error when bwrap exited before the sandbox ran:
// bwrap's own message, from its stderr.
func (s *localSandbox) setupError() error {
	return fmt.Errorf("bwrap failed to set up the sandbox (%v): %s", s.waitErr, s.stderr.startupOutput())
}

// orSetupError returns err, unless it says the sandbox's pid 1 is gone
// (ESRCH, ENOENT from /proc) and bwrap exits: then bwrap's setup failed, and
// its message is the useful error.
func (s *localSandbox) orSetupError(err error) error {
	if !errors.Is(err, syscall.ESRCH) && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	select {
	case <-s.exited:
		return s.setupError()
	case <-time.After(time.Second):
		return err
	}
}

// Signal sends sig to the command (the sandbox's pid 2).
func (s *localSandbox) Signal(sig syscall.Signal) error {
	if s.isDone() {
		return s.errEnded("signal")
	}
	p, err := s.mainProcess()
	if err != nil {
		return err
	}
	if err := p.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return s.errEnded("signal")
		}
		return fmt.Errorf("sandbox %s: signal: %w", s.name, err)
	}
	return nil
}

// mainProcess finds the command among the cgroup's processes: the one that
// is pid 2 in the sandbox's pid namespace (bwrap's init is 1 and forks the
// command first). The *os.Process holds a pidfd, so signals sent through
// it cannot reach another process that reused the pid later.
func (s *localSandbox) mainProcess() (*os.Process, error) {
	s.mainMu.Lock()
	defer s.mainMu.Unlock()
	if s.main != nil {
		return s.main, nil
	}
	// Right after Start the command may not be forked yet.
	deadline := time.Now().Add(2 * time.Second)
	for {
		pids, err := cgroupProcs(s.dirs)
		if err != nil {
			return nil, err
		}
		for _, pid := range pids {
			if nsPid(pid) == 2 {
				p, err := os.FindProcess(pid)
				if err != nil {
					return nil, err
				}
				s.main = p
				return p, nil
			}
		}
		if s.isDone() || time.Now().After(deadline) {
			return nil, fmt.Errorf("sandbox %s: its main process is gone", s.name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nsPid is pid's number in its innermost pid namespace (the last field of
// NSpid in /proc/<pid>/status), or 0.
func nsPid(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 { // not in a nested pid namespace
				return 0
			}
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
}

// Stop implements Sandbox.
func (s *localSandbox) Stop(grace time.Duration) error {
	if s.isDone() {
		return s.finalErr
	}
	// SIGTERM to every process, but not to slirp4netns: the app may need
	// the network to shut down cleanly. (bwrap's init ignores it: pid 1 of
	// a pid namespace gets only signals it has handlers for.)
	skip := map[int]bool{}
	if s.slirp != nil {
		skip[s.slirp.pid()] = true
	}
	if err := signalProcs(s.dirs, syscall.SIGTERM, skip); err != nil {
		s.l.log.Warn("sandbox: SIGTERM", "sandbox", s.name, "err", err)
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-s.done:
			return s.finalErr
		case <-t.C:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	// Killing pid 1 alone would take the whole pid namespace along; killing
	// everything also covers slirp4netns and does not depend on it.
	if err := killCgroup(ctx, s.l.cg, s.name); err != nil {
		return fmt.Errorf("sandbox %s: stop: %w", s.name, err)
	}
	select {
	case <-s.done:
		return s.finalErr
	case <-ctx.Done():
		return fmt.Errorf("sandbox %s: stop: bwrap did not exit: %w", s.name, ctx.Err())
	}
}

// Stats implements Sandbox. After the sandbox has ended it returns the
// last reading, taken when its processes were gone.
func (s *localSandbox) Stats() (Stats, error) {
	if s.isDone() {
		return s.final, nil
	}
	st, err := s.l.cg.stats(s.name)
	if err != nil {
		if s.isDone() {
			return s.final, nil
		}
		return Stats{}, fmt.Errorf("sandbox %s: stats: %w", s.name, err)
	}
	return st, nil
}

// DialContext implements Sandbox (see netns_dial.go).
func (s *localSandbox) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	s.nsMu.RLock()
	defer s.nsMu.RUnlock()
	if s.netns == nil {
		return nil, s.errEnded("dial")
	}
	return dialIn(ctx, s.netns, s.l.hostNS, network, address)
}

// startupCapture passes bwrap's stderr through to Spec.Stderr and keeps
// what is written before the command runs: that is bwrap's own error
// message when setting up the sandbox fails.
type startupCapture struct {
	w       switchWriter
	mu      sync.Mutex
	buf     bytes.Buffer
	running bool
}

func (c *startupCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.running && c.buf.Len() < 4096 {
		c.buf.Write(p)
	}
	c.mu.Unlock()
	return c.w.Write(p)
}

// switchWriter writes to the writer set last; before one is set (a
// prepared sandbox's, whose command has not run), output is dropped.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w == nil {
		return len(p), nil
	}
	return w.Write(p)
}

func (c *startupCapture) started() {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
}

func (c *startupCapture) startupOutput() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() == 0 {
		return "no output"
	}
	return strings.TrimSpace(c.buf.String())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
