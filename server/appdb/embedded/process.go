package embedded

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one run of a server process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
	err    error         // Wait's result; read only after exited is closed
	// relayed is closed once its output pipe has been read to the end
	// (every process holding it has exited).
	relayed chan struct{}
}

// lastLines returns log's recent lines once p's output has been relayed,
// or after wait if children it left behind still hold the pipe: a server
// that exits prints its last words just before, and they may still be in
// the pipe when Exited is closed.
func (p *Process) lastLines(log *Log, wait time.Duration) string {
	select {
	case <-p.relayed:
	case <-time.After(wait):
	}
	return log.Last()
}

// PID is the process's id; the server runs in a process group of that id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the process ended (exec.Cmd.Wait's error); call it only
// after Exited is closed.
func (p *Process) Err() error { return p.err }

// Launch starts cmd as u, in its own process group, with Env as its whole
// environment, and relays its output to log. If CodeRunner dies without
// shutting the server down (SIGKILL), the server gets deathSig instead of
// living on as an orphan; that signal is tied to the forking thread, so
// call Launch from a goroutine locked to its thread for the process's
// whole life (as the Supervisor does).
func Launch(cmd *exec.Cmd, u User, deathSig syscall.Signal, log *Log) (*Process, error) {
	cmd.Env = Env()
	cmd.SysProcAttr = u.SysProcAttr()
	cmd.SysProcAttr.Pdeathsig = deathSig
	// A pipe of our own rather than an io.Writer: exec would make Wait wait
	// until every process holding the pipe exits, and children orphaned by
	// a killed server (postgres's backends) hold it for a while.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{}), relayed: make(chan struct{})}
	go func() {
		log.Copy(r)
		_ = r.Close()
		close(p.relayed)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Stop shuts p down: gentle (a clean shutdown), then, once escalate is
// closed, harder, then after grace SIGKILL, and SIGKILL for whatever it
// left in its process group. forced reports whether the clean shutdown was
// cut short.
func (p *Process) Stop(escalate <-chan struct{}, gentle, harder syscall.Signal, grace time.Duration) (forced bool) {
	_ = p.cmd.Process.Signal(gentle)
	select {
	case <-p.exited:
		return false
	case <-escalate:
	}
	_ = p.cmd.Process.Signal(harder)
	select {
	case <-p.exited:
		return true
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	return true
}

// Now makes Stop escalate at once.
var Now = func() <-chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// groupAlive reports whether any live (not zombie) process is in process
// group pgid. Servers run in their own group (Setpgid), so this tells
// whether children of a dead server (postgres's backends, which hold its
// shared memory) still run.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, group, ok := procStat(pid)
		if ok && group == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat reads a process's state and process group from /proc.
func procStat(pid int) (state byte, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parens.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 3 {
		return 0, 0, false
	}
	pgid, err = strconv.Atoi(fields[2])
	return fields[0][0], pgid, err == nil
}

// WaitGroupGone waits until process group pgid has no live process, for
// at most limit; it sends sig to the group first so that its processes
// exit at once, and SIGKILL when limit has passed.
func WaitGroupGone(ctx context.Context, pgid int, sig syscall.Signal, limit time.Duration) bool {
	_ = syscall.Kill(-pgid, sig)
	deadline := time.Now().Add(limit)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

// processAlive reports whether pid is a process that has not exited (a
// zombie has exited; only its parent's wait is missing).
func processAlive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}
