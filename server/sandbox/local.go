package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultCgroupRoot is the default LocalOptions.CgroupRoot.
const DefaultCgroupRoot = "coderunner"

// DefaultSandboxUID is the default uid and gid sandboxed processes run as.
const DefaultSandboxUID = 10000

// DefaultLimits are used for zero fields of LocalOptions.Limits.
var DefaultLimits = Limits{MemoryBytes: 512 << 20, CPUMillicores: 1000, Pids: 256}

// LocalOptions configures the local driver. Zero values mean the defaults.
type LocalOptions struct {
	// CgroupRoot is the cgroup, relative to each hierarchy's root, that
	// holds one child cgroup per sandbox, e.g. /sys/fs/cgroup/memory/<root>/<name>
	// (v1) or /sys/fs/cgroup/<root>/<name> (v2). Cleanup treats everything
	// under it as a sandbox, so it must belong to this server alone.
	CgroupRoot string
	// Limits fill in the zero fields of Spec.Limits.
	Limits Limits
	// UID and GID are the host uid and gid the sandboxed processes run as.
	// They must not be 0. Writable mounts are chowned to them.
	UID, GID int
	// BwrapPath and SlirpPath locate bwrap and slirp4netns; by default
	// they are looked up in PATH.
	BwrapPath, SlirpPath string
	// Logger receives diagnostics (slirp4netns output at debug level,
	// cleanup actions at info). Default: slog.Default().
	Logger *slog.Logger
	// AllowPrivateEgress turns the egress filter off: a sandbox with
	// network then reaches every address the host reaches (its LAN, the
	// cloud's metadata service, the host's own non-loopback addresses and
	// the services listening on them), not only the public internet. For
	// development only. (egress.go)
	AllowPrivateEgress bool
	// EgressAllow are destinations a sandbox with network may reach
	// although the egress filter would block them (a database on the
	// LAN, say). They take precedence over every block, the host's own
	// addresses included.
	EgressAllow []netip.Prefix
}

// Local is the local sandbox driver.
type Local struct {
	opts  LocalOptions
	log   *slog.Logger
	cg    cgroupFS
	cgErr error
	// hostNS is the server's network namespace, where a dialing thread
	// returns to.
	hostNS *os.File
	// installEgress installs the egress filter (installEgressFilter;
	// tests replace it to make it fail).
	installEgress func(netns *os.File, p egressPolicy) error

	mu sync.Mutex
	// running holds this driver's sandboxes by name (nil while starting);
	// Cleanup leaves them alone.
	running map[string]*localSandbox
}

var (
	_ Driver   = (*Local)(nil)
	_ Preparer = (*Local)(nil)
)

// nameRE is what a sandbox name may look like: it is a cgroup directory
// name and the sandbox's hostname.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// NewLocal returns a local driver. It fails only for invalid options; a
// machine that cannot run sandboxes is reported by Check (and Start).
func NewLocal(opts LocalOptions) (*Local, error) {
	if opts.CgroupRoot == "" {
		opts.CgroupRoot = DefaultCgroupRoot
	}
	root := filepath.Clean(opts.CgroupRoot)
	if filepath.IsAbs(root) || root == "." || strings.HasPrefix(root, "..") {
		return nil, fmt.Errorf("sandbox: CgroupRoot %q must be a relative path such as %q", opts.CgroupRoot, DefaultCgroupRoot)
	}
	for _, part := range strings.Split(root, "/") {
		if !nameRE.MatchString(part) {
			return nil, fmt.Errorf("sandbox: CgroupRoot %q: invalid component %q", opts.CgroupRoot, part)
		}
	}
	opts.CgroupRoot = root
	if opts.Limits.MemoryBytes == 0 {
		opts.Limits.MemoryBytes = DefaultLimits.MemoryBytes
	}
	if opts.Limits.CPUMillicores == 0 {
		opts.Limits.CPUMillicores = DefaultLimits.CPUMillicores
	}
	if opts.Limits.Pids == 0 {
		opts.Limits.Pids = DefaultLimits.Pids
	}
	if err := validLimits(opts.Limits); err != nil {
		return nil, err
	}
	if opts.UID == 0 {
		opts.UID = DefaultSandboxUID
	}
	if opts.GID == 0 {
		opts.GID = opts.UID
	}
	if opts.UID < 0 || opts.GID < 0 {
		return nil, errors.New("sandbox: UID and GID must be positive (sandboxes never run as root)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.EgressAllow = slices.Clone(opts.EgressAllow)
	for i, p := range opts.EgressAllow {
		if !p.IsValid() {
			return nil, fmt.Errorf("sandbox: EgressAllow: invalid prefix %v", p)
		}
		opts.EgressAllow[i] = p.Masked()
	}
	hostNS, err := os.Open("/proc/self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("sandbox: opening the server's network namespace: %w", err)
	}
	l := &Local{opts: opts, log: opts.Logger, hostNS: hostNS, installEgress: installEgressFilter, running: map[string]*localSandbox{}}
	l.cg, l.cgErr = detectCgroups(root)
	if l.cgErr != nil {
		l.cgErr = fmt.Errorf("sandbox: no usable cgroups: %w", l.cgErr)
	}
	return l, nil
}

func validLimits(l Limits) error {
	if l.MemoryBytes < 0 || l.CPUMillicores < 0 || l.Pids < 0 {
		return fmt.Errorf("sandbox: negative limits %+v", l)
	}
	return nil
}

// Name implements Driver.
func (l *Local) Name() string { return "local" }

// CgroupVersion is 1 or 2, or 0 if no usable cgroups were found.
func (l *Local) CgroupVersion() int {
	if l.cg == nil {
		return 0
	}
	return l.cg.version()
}

func (l *Local) bwrapPath() (string, error) {
	p := l.opts.BwrapPath
	if p == "" {
		p = "bwrap"
	}
	path, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("bubblewrap (%s) is not installed: run `make run` as root, or `apt-get install bubblewrap`: %w", p, err)
	}
	return path, nil
}

func (l *Local) slirpPath() (string, error) {
	p := l.opts.SlirpPath
	if p == "" {
		p = "slirp4netns"
	}
	path, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", errSlirpMissing, err)
	}
	return path, nil
}

// Check implements Driver: it starts a minimal sandbox (with network when
// slirp4netns is installed) and reports what is missing or failing.
func (l *Local) Check(ctx context.Context) error {
	if _, err := l.bwrapPath(); err != nil {
		return err
	}
	if l.cgErr != nil {
		return l.cgErr
	}
	_, slirpErr := l.slirpPath()
	var out syncBuffer
	sb, err := l.Start(ctx, Spec{
		Name:    "check-" + randomHex(6),
		Command: []string{"true"},
		Network: slirpErr == nil,
		Stdout:  &out,
		Stderr:  &out,
	})
	if err != nil {
		return fmt.Errorf("sandbox: cannot start a sandbox (bubblewrap namespaces, cgroups or network): %w", err)
	}
	select {
	case <-sb.Done():
	case <-ctx.Done():
		_ = sb.Stop(0)
		return fmt.Errorf("sandbox: test sandbox did not finish: %w", ctx.Err())
	}
	if st := sb.Status(); st.Code != 0 {
		return fmt.Errorf("sandbox: test sandbox failed (%+v): %s", st, strings.TrimSpace(out.String()))
	}
	if err := sb.Stop(0); err != nil {
		return fmt.Errorf("sandbox: releasing test sandbox: %w", err)
	}
	return slirpErr
}

// Start implements Driver.
func (l *Local) Start(ctx context.Context, spec Spec) (Sandbox, error) {
	a, err := l.reserveAndPrepare(ctx, spec)
	if err != nil {
		return nil, err
	}
	return l.run(a)
}

// reserveAndPrepare checks spec, reserves its name (a second sandbox with
// it would share the cgroup) and prepares the sandbox. The name stays
// reserved until run or discard.
func (l *Local) reserveAndPrepare(ctx context.Context, spec Spec) (*startAttempt, error) {
	if l.cgErr != nil {
		return nil, l.cgErr
	}
	bwrap, err := l.bwrapPath()
	if err != nil {
		return nil, err
	}
	var slirpPath string
	if spec.Network {
		if slirpPath, err = l.slirpPath(); err != nil {
			return nil, err
		}
	}
	if err := validSpec(&spec); err != nil {
		return nil, err
	}
	lim := spec.Limits
	if err := validLimits(lim); err != nil {
		return nil, err
	}
	if lim.MemoryBytes == 0 {
		lim.MemoryBytes = l.opts.Limits.MemoryBytes
	}
	if lim.CPUMillicores == 0 {
		lim.CPUMillicores = l.opts.Limits.CPUMillicores
	}
	if lim.Pids == 0 {
		lim.Pids = l.opts.Limits.Pids
	}
	l.mu.Lock()
	if _, dup := l.running[spec.Name]; dup {
		l.mu.Unlock()
		return nil, fmt.Errorf("sandbox: %q is already running", spec.Name)
	}
	l.running[spec.Name] = nil
	l.mu.Unlock()
	a, err := l.prepare(ctx, spec, lim, bwrap, slirpPath)
	if err != nil {
		l.release(spec.Name)
		return nil, fmt.Errorf("sandbox %s: %w", spec.Name, err)
	}
	return a, nil
}

// run starts a prepared sandbox's command and records it as running.
func (l *Local) run(a *startAttempt) (Sandbox, error) {
	sb, err := a.run()
	l.mu.Lock()
	if err != nil {
		delete(l.running, a.name)
	} else if _, ok := l.running[a.name]; ok {
		// (Still reserved; if it had already ended, finish removed it.)
		l.running[a.name] = sb
	}
	l.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", a.name, err)
	}
	return sb, nil
}

// release frees a reserved name whose sandbox never ran.
func (l *Local) release(name string) {
	l.mu.Lock()
	delete(l.running, name)
	l.mu.Unlock()
}

func validSpec(spec *Spec) error {
	if !nameRE.MatchString(spec.Name) {
		return fmt.Errorf("sandbox: invalid name %q (letters, digits, '.', '_', '-'; at most 128)", spec.Name)
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return errors.New("sandbox: empty command")
	}
	// bwrap's options travel NUL-separated (--args): a NUL inside one
	// would split it into options of the caller's choosing.
	for _, kv := range spec.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsRune(kv, 0) {
			return fmt.Errorf("sandbox: environment entry %q is not KEY=value", kv)
		}
	}
	if spec.WorkDir != "" && (!filepath.IsAbs(spec.WorkDir) || strings.ContainsRune(spec.WorkDir, 0)) {
		return fmt.Errorf("sandbox: WorkDir %q is not absolute", spec.WorkDir)
	}
	if err := validForwards(spec.Forwards); err != nil {
		return err
	}
	spec.Mounts = slices.Clone(spec.Mounts) // cleaned below; the caller's slice stays as it was
	for i, m := range spec.Mounts {
		if !filepath.IsAbs(m.HostPath) || !filepath.IsAbs(m.SandboxPath) ||
			strings.ContainsRune(m.HostPath, 0) || strings.ContainsRune(m.SandboxPath, 0) {
			return fmt.Errorf("sandbox: mount %q -> %q: paths must be absolute", m.HostPath, m.SandboxPath)
		}
		sp := filepath.Clean(m.SandboxPath)
		if sp == "/" || sp == "/proc" || sp == "/dev" || strings.HasPrefix(sp, "/proc/") || strings.HasPrefix(sp, "/dev/") {
			return fmt.Errorf("sandbox: cannot mount over %s", sp)
		}
		spec.Mounts[i].SandboxPath = sp
	}
	return nil
}

// errBwrapExited: bwrap ended before its child blocked.
var errBwrapExited = errors.New("bwrap exited during setup")

// waitBlocked waits until process pid (the sandbox's pid 1) sits in
// read(2) on its fd blockFD, which bwrap does only once the sandbox is set
// up. /proc/<pid>/syscall shows the syscall a blocked process is in and its
// arguments ("0 0x6 ..." is read on fd 6 on x86-64). It polls at most
// every millisecond: set-up takes ~10 ms, every start (a wake included)
// waits on it, and a read of that file costs a few µs (a 10 ms cap made a
// manifest wake ~8 ms slower: 49 vs 41 ms median of 10).
func waitBlocked(ctx context.Context, pid, blockFD int, exited <-chan struct{}) error {
	want := fmt.Sprintf("%d 0x%x ", unix.SYS_READ, blockFD)
	path := fmt.Sprintf("/proc/%d/syscall", pid)
	for delay := 250 * time.Microsecond; ; delay = min(2*delay, time.Millisecond) {
		data, err := os.ReadFile(path)
		if err == nil && strings.HasPrefix(string(data), want) {
			return nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		select {
		case <-exited:
			return errBwrapExited
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// dupFile returns a second *os.File for f's open file description.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Cleanup implements Driver. Every cgroup under CgroupRoot, in any
// hierarchy, is a sandbox; those this driver did not start (they belong to
// an earlier server process) and keep rejects are killed, slirp4netns
// included, and removed.
func (l *Local) Cleanup(ctx context.Context, keep func(name string) bool) error {
	if l.cgErr != nil {
		return l.cgErr
	}
	names, err := listSandboxCgroups(l.cg)
	if err != nil {
		return fmt.Errorf("sandbox: listing sandboxes: %w", err)
	}
	var errs []error
	for _, name := range names {
		l.mu.Lock()
		_, ours := l.running[name]
		l.mu.Unlock()
		if ours || keep(name) {
			continue
		}
		pids, _ := cgroupProcs(l.cg.dirs(name))
		l.log.Info("sandbox: removing a sandbox left by an earlier server", "sandbox", name, "pids", pids)
		if err := killCgroup(ctx, l.cg, name); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := removeCgroup(ctx, l.cg.dirs(name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close implements Driver: it removes the cgroup root from every hierarchy
// where it is empty. A server whose data dir was temporary (tests, a trial
// run) would otherwise leave an empty root behind per run. A root that
// still holds a sandbox stays; that is not an error.
func (l *Local) Close() error {
	if l.cgErr != nil {
		return nil
	}
	var errs []error
	for _, dir := range l.cg.prefixDirs() {
		err := syscall.Rmdir(dir)
		if err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.ENOTEMPTY) {
			errs = append(errs, fmt.Errorf("sandbox: removing cgroup root %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// forget removes a finished sandbox from the running set.
func (l *Local) forget(s *localSandbox) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.running[s.name]; ok && (cur == s || cur == nil) {
		delete(l.running, s.name)
	}
}
