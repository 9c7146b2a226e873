package pgembed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// quitGrace is how long an immediate shutdown (SIGQUIT) may take before
// the postmaster is killed.
const quitGrace = 5 * time.Second

// postmaster is one run of the postgres server process.
type postmaster struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
	err    error         // Wait's result; read only after exited is closed
}

func (p *postmaster) pid() int { return p.cmd.Process.Pid }

// launch starts postgres. Where it listens is given on the command line,
// which outranks postgresql.conf and ALTER SYSTEM: no TCP at all, and a
// socket only in the cluster's private dir.
func (c *Cluster) launch() (*postmaster, error) {
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"),
		"-D", c.dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories="+quoteDirList(c.socketDir),
		"-c", "unix_socket_permissions=0700",
		"-c", "log_destination=stderr",
		"-c", "logging_collector=off",
		"-c", "log_line_prefix=", // serverLog reads the severity at the start
	)
	cmd.Dir = c.dataDir
	cmd.Env = childEnv()
	cmd.SysProcAttr = c.user.sysProcAttr()
	// If CodeRunner dies without shutting down (SIGKILL), the postmaster
	// gets a fast shutdown instead of living on as an orphan. The signal is
	// tied to the forking thread, which supervise keeps locked.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	// A pipe of our own rather than an io.Writer: exec would make Wait wait
	// until every process holding the pipe exits, and backends orphaned by
	// a killed postmaster hold it for a while.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		c.serverLog.copy(r)
		_ = r.Close()
	}()
	p := &postmaster{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// quoteDirList quotes a dir for a GUC that holds a comma-separated list,
// so a comma or space in the path stays part of it.
func quoteDirList(dir string) string {
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}

// waitReady returns once p accepts connections, or an error if it exits
// first (with its last log lines) or ctx ends.
func (c *Cluster) waitReady(ctx context.Context, p *postmaster) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
			return fmt.Errorf("postgres refuses the admin password kept in %s: %w", filepath.Join(c.dir, passwordFileName), err)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited while starting (%v): %s", p.err, c.serverLog.last())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections in time: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// ping connects as the admin, the one proof that the server is ready.
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL())
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// stop shuts p down: a fast shutdown (SIGINT: sessions are cut, the data
// is checkpointed), then, once escalate is closed, an immediate one
// (SIGQUIT: recovery at the next start), then SIGKILL. forced reports
// whether the fast shutdown was cut short.
func stop(p *postmaster, escalate <-chan struct{}) (forced bool) {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		return false
	case <-escalate:
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
		return true
	case <-time.After(quitGrace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL) // backends it left behind
	return true
}

// groupAlive reports whether any live (not zombie) process is in process
// group pgid. postgres runs in its own group (Setpgid), so this tells
// whether backends of a dead postmaster still hold its shared memory, in
// which case a new postmaster refuses to start.
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

// waitGroupGone waits until process group pgid has no live process, for
// at most limit; it SIGQUITs the group first so backends exit at once.
func waitGroupGone(ctx context.Context, pgid int, limit time.Duration) bool {
	_ = syscall.Kill(-pgid, syscall.SIGQUIT)
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
