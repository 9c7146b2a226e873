package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FindOrphan returns the pid written in pidFile if that process is alive,
// is named comm and works in dir (the servers chdir to their data dir),
// else 0: a stale file's pid may have been reused by another process,
// which must not be signalled.
func FindOrphan(pidFile, comm, dir string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return 0
	}
	proc := "/proc/" + strconv.Itoa(pid)
	name, err := os.ReadFile(proc + "/comm")
	if err != nil || strings.TrimSpace(string(name)) != comm {
		return 0
	}
	cwd, err := os.Readlink(proc + "/cwd")
	if err != nil {
		return 0
	}
	want, err := filepath.EvalSymlinks(dir)
	if err != nil || cwd != want {
		return 0
	}
	return pid
}

// StopOrphan stops a server that an earlier CodeRunner left running (it
// was SIGKILLed and the parent-death signal did not fire, or the server
// was started by hand), so that the new one is our child and supervised:
// gentle, then harder once limit has passed, then the same for its
// process group (if it has its own, as ours do) until grace has passed.
func StopOrphan(ctx context.Context, pid int, gentle, harder syscall.Signal, limit, grace time.Duration) error {
	_ = syscall.Kill(pid, gentle)
	deadline := time.Now().Add(limit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, harder)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	WaitGroupGone(ctx, pid, harder, grace)
	return ctx.Err()
}
