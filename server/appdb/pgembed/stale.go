package pgembed

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// orphanStopLimit bounds the fast shutdown of a postmaster left running by
// an earlier CodeRunner before it is shut down immediately.
const orphanStopLimit = 30 * time.Second

// stopOrphan stops a postmaster of this data dir that an earlier
// CodeRunner left running (it was SIGKILLed and the parent-death signal
// did not fire, or postgres was started by hand), so that the new one is
// our child and supervised. A stale postmaster.pid whose process is dead
// is left to postgres, which checks that no old backend still holds the
// shared memory and removes the file itself.
func (c *Cluster) stopOrphan(ctx context.Context) error {
	pid := c.orphanPID()
	if pid == 0 {
		return nil
	}
	c.logger.Warn("stopping a postgres left running on this data dir by an earlier run", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(orphanStopLimit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Its backends too, if it ran in its own process group (ours do).
	waitGroupGone(ctx, pid, quitGrace)
	return ctx.Err()
}

// orphanPID returns the pid in postmaster.pid if that process is a live
// postgres whose working dir is our data dir (a postmaster chdirs there),
// else 0: a reused pid must not be signalled.
func (c *Cluster) orphanPID() int {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return 0
	}
	proc := "/proc/" + strconv.Itoa(pid)
	comm, err := os.ReadFile(proc + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return 0
	}
	cwd, err := os.Readlink(proc + "/cwd")
	if err != nil {
		return 0
	}
	want, err := filepath.EvalSymlinks(c.dataDir)
	if err != nil || cwd != want {
		return 0
	}
	return pid
}

// processAlive reports whether pid is a process that has not exited (a
// zombie has exited; only its parent's wait is missing).
func processAlive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}
