package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// cgroupV1 drives the legacy hierarchies: each controller is its own
// filesystem (or a few are mounted together, like "cpu,cpuacct"), so a
// sandbox's cgroup is one directory per hierarchy.
type cgroupV1 struct {
	prefix string
	// mounts maps each controller the driver needs to its hierarchy's
	// mount point.
	mounts map[string]string
}

// v1Controllers are the controllers a sandbox needs: memory and pids for
// limits, cpu for the CFS quota, cpuacct for CPU usage.
var v1Controllers = []string{"memory", "cpu", "cpuacct", "pids"}

func newCgroupV1(prefix string) (*cgroupV1, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	mounts := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		preFields, postFields := strings.Fields(pre), strings.Fields(post)
		if len(preFields) < 5 || len(postFields) < 3 || postFields[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(postFields[2], ",") {
			if slices.Contains(v1Controllers, opt) {
				if _, dup := mounts[opt]; !dup {
					mounts[opt] = preFields[4]
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range v1Controllers {
		if mounts[c] == "" {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cgroup v1: controllers %s are not mounted (and no cgroup v2 at %s)", strings.Join(missing, ", "), cgroupMount)
	}
	return &cgroupV1{prefix: prefix, mounts: mounts}, nil
}

func (c *cgroupV1) version() int { return 1 }

// hierarchies are the distinct mount points, in a fixed order (controllers
// mounted together share one).
func (c *cgroupV1) hierarchies() []string {
	var out []string
	for _, ctl := range v1Controllers {
		if m := c.mounts[ctl]; !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (c *cgroupV1) prefixDirs() []string {
	var out []string
	for _, h := range c.hierarchies() {
		out = append(out, filepath.Join(h, c.prefix))
	}
	return out
}

func (c *cgroupV1) dirs(name string) []string {
	var out []string
	for _, h := range c.hierarchies() {
		out = append(out, filepath.Join(h, c.prefix, name))
	}
	return out
}

// dir is the sandbox's directory in the hierarchy of one controller.
func (c *cgroupV1) dir(ctl, name string) string {
	return filepath.Join(c.mounts[ctl], c.prefix, name)
}

func (c *cgroupV1) create(name string, lim Limits) error {
	for _, d := range c.dirs(name) {
		if err := mkdirAll(d); err != nil {
			return err
		}
	}
	mem := c.dir("memory", name)
	if err := writeFile(filepath.Join(mem, "memory.limit_in_bytes"), strconv.FormatInt(lim.MemoryBytes, 10)); err != nil {
		return err
	}
	// memory.memsw is memory+swap; setting it to the memory limit forbids
	// swapping. It exists only with swap accounting (swapaccount=1); without
	// it, swappiness 0 keeps the kernel from swapping the sandbox out
	// instead of OOM-killing it.
	memsw := filepath.Join(mem, "memory.memsw.limit_in_bytes")
	if _, err := os.Stat(memsw); err == nil {
		if err := writeFile(memsw, strconv.FormatInt(lim.MemoryBytes, 10)); err != nil {
			return err
		}
	} else if err := writeFile(filepath.Join(mem, "memory.swappiness"), "0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cpu := c.dir("cpu", name)
	if err := writeFile(filepath.Join(cpu, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriod)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(cpu, "cpu.cfs_quota_us"), strconv.Itoa(cpuQuota(lim.CPUMillicores))); err != nil {
		return err
	}
	return writeFile(filepath.Join(c.dir("pids", name), "pids.max"), strconv.Itoa(lim.Pids))
}

func (c *cgroupV1) stats(name string) (Stats, error) {
	var s Stats
	usage, err := readInt(filepath.Join(c.dir("cpuacct", name), "cpuacct.usage"))
	if err != nil {
		return s, err
	}
	s.CPUUsage = durationNs(usage)
	mem := c.dir("memory", name)
	used, err := readInt(filepath.Join(mem, "memory.usage_in_bytes"))
	if err != nil {
		return s, err
	}
	// Like the kubelet's "working set": page cache that could be dropped
	// right away is not memory the app uses.
	inactive, err := readKeyed(filepath.Join(mem, "memory.stat"), "total_inactive_file")
	if err != nil {
		return s, err
	}
	s.MemoryBytes = max(used-inactive, 0)
	if s.MemoryLimitBytes, err = readInt(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
		return s, err
	}
	pids, err := readInt(filepath.Join(c.dir("pids", name), "pids.current"))
	s.Pids = int(pids)
	return s, err
}

// oomKills reads the oom_kill counter of memory.oom_control (kernel 4.13+);
// older kernels only have memory.failcnt, which counts hitting the limit
// (reclaim included), not kills, so it is not used.
func (c *cgroupV1) oomKills(name string) (int64, error) {
	return readKeyed(filepath.Join(c.dir("memory", name), "memory.oom_control"), "oom_kill")
}

// killAll signals every listed process; killCgroup repeats it until the
// cgroup is empty. (The freezer would make one round enough, but the loop
// is simpler and the pids limit bounds it.)
func (c *cgroupV1) killAll(name string) error {
	return signalProcs(c.dirs(name), syscall.SIGKILL, nil)
}
