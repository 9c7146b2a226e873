package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupMount is where the kernel's cgroup filesystems are mounted. On
// cgroup v2 it is the unified hierarchy itself; on v1 each controller has a
// directory below it (found through /proc/self/mountinfo).
const cgroupMount = "/sys/fs/cgroup"

// cpuPeriod is the CFS period the CPU limit is expressed in (100 ms, the
// kernel default): a quota of n µs per period is n/100000 cores.
const cpuPeriod = 100000

// cgroupFS is one cgroup version's way of making, limiting and reading a
// sandbox's cgroup. A sandbox's cgroup is named <prefix>/<name> in every
// hierarchy the driver uses; the version-independent parts (membership,
// killing, removal) are functions of this file working on dirs().
type cgroupFS interface {
	// version is 1 or 2.
	version() int
	// prefixDirs are the directories that hold every sandbox's cgroup, one
	// per hierarchy. Cleanup lists them.
	prefixDirs() []string
	// dirs are the directories that make up one sandbox's cgroup.
	dirs(name string) []string
	// create makes the cgroup and applies the limits.
	create(name string, lim Limits) error
	// stats reads the resource use.
	stats(name string) (Stats, error)
	// oomKills is how many processes the kernel killed for exceeding the
	// memory limit.
	oomKills(name string) (int64, error)
	// killAll sends SIGKILL to every process in the cgroup once (v2 with
	// cgroup.kill does it atomically, which also catches forks in flight).
	killAll(name string) error
}

// detectCgroups picks v2 when the unified hierarchy is mounted at
// /sys/fs/cgroup (it has cgroup.controllers there) and v1 otherwise. A
// "hybrid" host (v1 controllers plus an empty v2 hierarchy at
// /sys/fs/cgroup/unified) is v1: that is where the controllers are.
func detectCgroups(prefix string) (cgroupFS, error) {
	if _, err := os.Stat(filepath.Join(cgroupMount, "cgroup.controllers")); err == nil {
		return newCgroupV2(cgroupMount, prefix)
	}
	return newCgroupV1(prefix)
}

// cgroupProcs lists the processes of a cgroup: the union of cgroup.procs of
// its directories (on v1 a process could be in one hierarchy and not yet in
// another while it is being moved). Missing directories count as empty.
func cgroupProcs(dirs []string) ([]int, error) {
	seen := map[int]bool{}
	var pids []int
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		// ENODEV: the cgroup was removed while the file was open.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil || seen[pid] {
				continue
			}
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// cgroupAdd moves pid (the whole process) into the cgroup in every
// hierarchy. Children forked afterwards start inside it.
func cgroupAdd(dirs []string, pid int) error {
	for _, dir := range dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("moving pid %d into cgroup %s: %w", pid, dir, err)
		}
	}
	return nil
}

// signalProcs sends sig to every process in the cgroup except those in
// skip. The pids come from cgroup.procs: a process that exits between the
// read and the kill makes kill fail with ESRCH, which is ignored. (Its pid
// would have to be reused by another process within that window for the
// signal to go astray, which needs the whole pid space to wrap around.)
func signalProcs(dirs []string, sig syscall.Signal, skip map[int]bool) error {
	pids, err := cgroupProcs(dirs)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if skip[pid] {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
		}
	}
	return nil
}

// killCgroup SIGKILLs everything in the cgroup until it is empty or ctx
// ends. The loop is what makes it race-free on v1: a process that forks
// while being killed leaves a child that the next round finds (the pids
// limit bounds how many there can be).
func killCgroup(ctx context.Context, fsys cgroupFS, name string) error {
	dirs := fsys.dirs(name)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		pids, err := cgroupProcs(dirs)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if err := fsys.killAll(name); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("processes %v of cgroup %s did not end: %w", pids, name, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// removeCgroup removes the sandbox's directories (children first, in case
// something created sub-cgroups). rmdir can fail with EBUSY for a moment
// after the last process exited, so it is retried briefly.
func removeCgroup(ctx context.Context, dirs []string) error {
	var errs []error
	for _, dir := range dirs {
		if err := removeCgroupDir(ctx, dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroupDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupDir(ctx, filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		case <-time.After(delay):
		}
	}
}

// listSandboxCgroups returns the names of every sandbox cgroup under the
// prefix, in any hierarchy.
func listSandboxCgroups(fsys cgroupFS) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, dir := range fsys.prefixDirs() {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	return names, nil
}

// mkdirAll creates dir and its parents. Cgroup directories cannot be
// created with a mode, so it is a plain os.MkdirAll.
func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	return nil
}

// writeFile writes one value to a cgroup control file. Control files must
// be written with a single write(2) and without O_CREAT/O_TRUNC surprises.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

// readInt reads a control file that holds one integer.
func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// readKeyed reads one "key value" line of a flat-keyed file such as
// memory.stat, memory.events or memory.oom_control; a missing key is 0.
func readKeyed(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, sc.Err()
}

// cpuQuota converts millicores to a CFS quota in µs per cpuPeriod. The
// kernel refuses quotas under 1 ms.
func cpuQuota(millicores int) int {
	return max(millicores*cpuPeriod/1000, 1000)
}

// durationNs turns a nanosecond counter into a Duration.
func durationNs(ns int64) time.Duration { return time.Duration(ns) }
