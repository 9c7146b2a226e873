package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupV2 drives the unified hierarchy: one directory per sandbox holds
// every controller.
type cgroupV2 struct {
	mount  string
	prefix string
}

// v2Controllers must be enabled (cgroup.subtree_control) in every ancestor
// of a sandbox's cgroup for its limit files to exist.
var v2Controllers = []string{"memory", "cpu", "pids"}

func newCgroupV2(mount, prefix string) (*cgroupV2, error) {
	data, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	have := strings.Fields(string(data))
	for _, c := range v2Controllers {
		if !slices.Contains(have, c) {
			return nil, fmt.Errorf("cgroup v2: controller %q is not available in %s", c, mount)
		}
	}
	return &cgroupV2{mount: mount, prefix: prefix}, nil
}

func (c *cgroupV2) version() int { return 2 }

func (c *cgroupV2) prefixDirs() []string { return []string{filepath.Join(c.mount, c.prefix)} }

func (c *cgroupV2) dirs(name string) []string {
	return []string{filepath.Join(c.mount, c.prefix, name)}
}

// create enables the controllers from the hierarchy's root down to the
// prefix, then makes the sandbox's leaf cgroup and sets its limits. (The
// "no internal processes" rule is why sandboxes are leaves and nothing else
// lives under the prefix.)
func (c *cgroupV2) create(name string, lim Limits) error {
	parent := c.mount
	for _, part := range strings.Split(c.prefix, "/") {
		if err := enableControllers(parent); err != nil {
			return err
		}
		parent = filepath.Join(parent, part)
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating cgroup %s: %w", parent, err)
		}
	}
	if err := enableControllers(parent); err != nil {
		return err
	}
	dir := c.dirs(name)[0]
	if err := mkdirAll(dir); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(lim.MemoryBytes, 10)); err != nil {
		return err
	}
	// No swap: over the limit means OOM-killed, not slowed down. The file is
	// missing when the kernel has no swap support.
	if err := writeFile(filepath.Join(dir, "memory.swap.max"), "0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := writeFile(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", cpuQuota(lim.CPUMillicores), cpuPeriod)); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "pids.max"), strconv.Itoa(lim.Pids))
}

// enableControllers turns on the controllers the driver needs for the
// children of dir, skipping those already on (writing is not idempotent
// under every kernel when a controller is busy).
func enableControllers(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	on := strings.Fields(string(data))
	var add []string
	for _, c := range v2Controllers {
		if !slices.Contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(add, " ")); err != nil {
		return fmt.Errorf("enabling cgroup controllers (%s has processes of its own? cgroup v2 allows controllers only for cgroups without): %w", dir, err)
	}
	return nil
}

func (c *cgroupV2) stats(name string) (Stats, error) {
	var s Stats
	dir := c.dirs(name)[0]
	usec, err := readKeyed(filepath.Join(dir, "cpu.stat"), "usage_usec")
	if err != nil {
		return s, err
	}
	s.CPUUsage = time.Duration(usec) * time.Microsecond
	used, err := readInt(filepath.Join(dir, "memory.current"))
	if err != nil {
		return s, err
	}
	inactive, err := readKeyed(filepath.Join(dir, "memory.stat"), "inactive_file")
	if err != nil {
		return s, err
	}
	s.MemoryBytes = max(used-inactive, 0)
	if s.MemoryLimitBytes, err = readInt(filepath.Join(dir, "memory.max")); err != nil {
		return s, err
	}
	pids, err := readInt(filepath.Join(dir, "pids.current"))
	s.Pids = int(pids)
	return s, err
}

// oomKills reads memory.events' oom_kill counter.
func (c *cgroupV2) oomKills(name string) (int64, error) {
	return readKeyed(filepath.Join(c.dirs(name)[0], "memory.events"), "oom_kill")
}

// killAll uses cgroup.kill (Linux 5.14+), which kills every process of the
// cgroup and its descendants at once, forks in flight included; older
// kernels fall back to signalling the listed processes.
func (c *cgroupV2) killAll(name string) error {
	dir := c.dirs(name)[0]
	err := writeFile(filepath.Join(dir, "cgroup.kill"), "1")
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return signalProcs(c.dirs(name), syscall.SIGKILL, nil)
}
