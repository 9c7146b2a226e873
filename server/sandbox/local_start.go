package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopTimeout bounds how long ending a sandbox's processes and releasing
// its cgroup may take before the driver gives up and reports it.
const stopTimeout = 30 * time.Second

// prepare does the work of Start and Prepare once the name is reserved:
// mounts checked, cgroup made, bwrap started blocked, its pid 1 put in the
// cgroup, the network set up. Until it returns, a failure undoes all of
// it (startAttempt.undo); after, run unblocks bwrap or undo releases it.
func (l *Local) prepare(ctx context.Context, spec Spec, lim Limits, bwrap, slirpPath string) (_ *startAttempt, retErr error) {
	uid, gid := l.opts.UID, l.opts.GID
	if spec.UID > 0 {
		uid, gid = spec.UID, spec.UID
	}
	mounts, err := prepareMounts(spec.Mounts, uid, gid)
	if err != nil {
		return nil, err
	}
	dirs, err := l.prepareCgroup(spec.Name, lim)
	if err != nil {
		return nil, err
	}
	a := &startAttempt{l: l, name: spec.Name, s: &localSandbox{l: l, name: spec.Name, dirs: dirs, done: make(chan struct{})}}
	a.s.stdout.set(spec.Stdout)
	a.s.stderr.w.set(spec.Stderr)
	defer func() {
		a.files.close()
		if a.argsW != nil {
			_ = a.argsW.Close()
		}
		if a.infoR != nil {
			_ = a.infoR.Close()
		}
		if retErr != nil {
			a.undo()
		}
	}()
	fds, err := a.openPipes()
	if err != nil {
		return nil, err
	}
	args, err := bwrapArgs(spec, uid, gid, mounts, fds, &a.files)
	if err != nil {
		return nil, err
	}
	if err := a.exec(bwrap, spec, uid, gid, fds.args, args); err != nil {
		return nil, err
	}
	if err := a.enterCgroup(ctx, fds.block); err != nil {
		return nil, err
	}
	// Before the network, so a failure there is also the undo path's with
	// forwards open; the loopback they listen on is bwrap's, up by now.
	if a.s.forwards, err = openForwards(a.name, l.log, a.s.netns, l.hostNS, spec.Forwards); err != nil {
		return nil, err
	}
	if spec.Network {
		if err := a.setupNetwork(ctx, slirpPath); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// run unblocks a prepared bwrap: the command starts. A sandbox whose bwrap
// ended while it waited (killed from outside, say) is released instead.
func (a *startAttempt) run() (*localSandbox, error) {
	select {
	case <-a.s.exited:
		a.undo()
		return nil, fmt.Errorf("the prepared sandbox ended before its command ran: %w", a.s.setupError())
	default:
	}
	if _, err := a.blockW.Write([]byte{1}); err != nil {
		a.undo()
		return nil, fmt.Errorf("unblocking bwrap: %w", err)
	}
	_ = a.blockW.Close()
	a.blockW = nil
	a.s.stderr.started()
	go a.s.wait()
	return a.s, nil
}

// prepareMounts resolves the mount sources' symlinks (bwrap would, as the
// sandbox uid, and with no regard to who owns them), checks the sandbox
// uid can reach them, and gives writable ones to it.
func prepareMounts(requested []Mount, uid, gid int) ([]Mount, error) {
	mounts := sortMounts(requested)
	for i, m := range mounts {
		host, err := resolveMountSource(m.HostPath)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("mount source %s is not a directory", m.HostPath)
		}
		if m.Writable && systemDirs[host] {
			// It would be chowned to the sandbox uid, recursively.
			return nil, fmt.Errorf("refusing to mount the host's %s writable", host)
		}
		if err := checkMount(host, m.Writable, uid, gid); err != nil {
			return nil, err
		}
		if m.Writable {
			if err := chownTree(host, uid, gid); err != nil {
				return nil, fmt.Errorf("giving writable mount %s to the sandbox uid: %w", host, err)
			}
		}
		mounts[i].HostPath = host
	}
	return mounts, nil
}

// prepareCgroup makes the sandbox's cgroup. One with this name left by a
// crashed server is reused if it is empty; otherwise Cleanup has to deal
// with it first.
func (l *Local) prepareCgroup(name string, lim Limits) ([]string, error) {
	dirs := l.cg.dirs(name)
	if pids, err := cgroupProcs(dirs); err != nil {
		return nil, err
	} else if len(pids) > 0 {
		return nil, fmt.Errorf("cgroup %s still has processes %v from an earlier sandbox (run Cleanup)", dirs[0], pids)
	}
	if err := l.cg.create(name, lim); err != nil {
		_ = removeCgroup(context.Background(), dirs)
		return nil, err
	}
	return dirs, nil
}

// startAttempt is what a start has acquired so far.
type startAttempt struct {
	l       *Local
	name    string
	s       *localSandbox
	files   bwrapFiles
	argsW   *os.File // the --args pipe, until handed to the writing goroutine
	infoR   *os.File // the --info-fd pipe
	blockW  *os.File // the --block-fd pipe, until the unblocking byte
	started bool     // bwrap runs
}

// undo releases what a failed start acquired.
func (a *startAttempt) undo() {
	s := a.s
	// bwrap's monitor and the sandbox's pid 1 (still blocked, so still in
	// the monitor's process group) die together; then the rest.
	if a.started {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.forwards.close()
	if s.slirp != nil {
		s.slirp.stop()
	}
	if a.blockW != nil {
		_ = a.blockW.Close()
	}
	if s.netns != nil {
		_ = s.netns.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := killCgroup(ctx, a.l.cg, a.name); err != nil {
		a.l.log.Warn("sandbox: cleaning up after a failed start", "sandbox", a.name, "err", err)
	}
	if err := removeCgroup(ctx, s.dirs); err != nil {
		a.l.log.Warn("sandbox: cleaning up after a failed start", "sandbox", a.name, "err", err)
	}
}

// pipeFDs are bwrap's numbers for the pipes openPipes made.
type pipeFDs struct{ args, info, block, sync string }

// openPipes makes the pipes bwrap talks through: --args (its options),
// --info-fd (the child's pid), --block-fd (the child waits on it until
// the network is set up) and --sync-fd (the child holds its write end).
func (a *startAttempt) openPipes() (pipeFDs, error) {
	var fds pipeFDs
	argsR, argsW, err := os.Pipe()
	if err != nil {
		return fds, err
	}
	a.argsW = argsW
	fds.args = a.files.add(argsR)
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return fds, err
	}
	a.infoR = infoR
	fds.info = a.files.add(infoW)
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return fds, err
	}
	a.blockW = blockW
	fds.block = a.files.add(blockR)
	// The child holds the write end as its --sync-fd (see the top of
	// local.go); we keep our own copy to write the unblocking byte.
	syncDup, err := dupFile(blockW)
	if err != nil {
		return fds, err
	}
	fds.sync = a.files.add(syncDup)
	return fds, nil
}

// exec starts bwrap as the sandbox uid. Its options (the environment
// included, which may hold secrets) go through --args, not the command
// line that `ps` shows; the command itself must stay on the command line.
// bwrap's own environment is empty: the sandbox's is set with --setenv,
// because a variable such as LD_PRELOAD would otherwise apply to bwrap
// itself, outside the sandbox.
func (a *startAttempt) exec(bwrap string, spec Spec, uid, gid int, argsFD string, args []string) error {
	s := a.s
	cmd := exec.Command(bwrap, append([]string{"--args", argsFD, "--"}, spec.Command...)...)
	cmd.Env = []string{}
	cmd.ExtraFiles = a.files.extra
	cmd.Stdout = &s.stdout
	cmd.Stderr = &s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
		// Its own process group: a Ctrl-C meant for the server does not
		// reach bwrap, and a failed start can kill bwrap and its child at
		// once.
		Setpgid: true,
	}
	// After the sandbox's pid 1 exits, everything in the pid namespace is
	// killed, so the output pipes close; WaitDelay only guards against the
	// unexpected.
	cmd.WaitDelay = 5 * time.Second
	s.cmd = cmd
	if err := startOnLauncherThread(cmd); err != nil {
		return fmt.Errorf("starting bwrap: %w", err)
	}
	a.started = true
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	a.files.close()
	// Written after the start: the arguments may not fit in a pipe's
	// buffer.
	go func(w *os.File) {
		_, _ = io.WriteString(w, strings.Join(args, "\x00")+"\x00")
		_ = w.Close()
	}(a.argsW)
	a.argsW = nil
	return nil
}

// enterCgroup waits for bwrap's child (the sandbox's pid 1), puts it in
// the cgroup before it can fork anything, opens its network namespace,
// and waits for it to finish setting up and block. Besides reporting a
// failed setup (a mount, say) as Start's error, the wait keeps
// slirp4netns from configuring the network namespace while bwrap still
// is: both bring up the loopback, and bwrap fails if it is already up.
func (a *startAttempt) enterCgroup(ctx context.Context, blockFD string) error {
	s := a.s
	pid, err := a.childPid(ctx)
	if err != nil {
		return err
	}
	s.initPid = pid
	if err := cgroupAdd(s.dirs, s.initPid); err != nil {
		return s.orSetupError(err)
	}
	if s.netns, err = os.Open(fmt.Sprintf("/proc/%d/ns/net", s.initPid)); err != nil {
		return s.orSetupError(fmt.Errorf("opening the sandbox's network namespace: %w", err))
	}
	blockFDNum, _ := strconv.Atoi(blockFD)
	if err := waitBlocked(ctx, s.initPid, blockFDNum, s.exited); err != nil {
		if errors.Is(err, errBwrapExited) {
			return s.setupError()
		}
		return err
	}
	return nil
}

// childPid reads --info-fd: {"child-pid": N}, written once bwrap has
// cloned the sandbox's pid 1 and closed when bwrap fails before that.
func (a *startAttempt) childPid(ctx context.Context) (int, error) {
	type result struct {
		pid int
		err error
	}
	info := make(chan result, 1)
	go func(r io.Reader) {
		var v struct {
			ChildPid int `json:"child-pid"`
		}
		b, err := io.ReadAll(r)
		if err == nil {
			err = json.Unmarshal(b, &v)
		}
		if err == nil && v.ChildPid <= 0 {
			err = errors.New("no child-pid")
		}
		info <- result{v.ChildPid, err}
	}(a.infoR)
	select {
	case r := <-info:
		if r.err != nil {
			<-a.s.exited
			return 0, a.s.setupError()
		}
		return r.pid, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// setupNetwork starts slirp4netns for the sandbox's network namespace and
// installs the egress filter.
func (a *startAttempt) setupNetwork(ctx context.Context, slirpPath string) error {
	s, l := a.s, a.l
	var err error
	if s.slirp, err = startSlirp(ctx, slirpPath, s.netns, l.log.With("sandbox", a.name)); err != nil {
		return err
	}
	// In the sandbox's cgroup, a slirp4netns left behind by a crashed
	// server is found and killed by Cleanup. Its few MiB count against the
	// sandbox's memory limit; that is the sandbox's traffic.
	if err := cgroupAdd(s.dirs, s.slirp.pid()); err != nil {
		return err
	}
	// Public internet only (egress.go). Never run a networked sandbox
	// without its filter: failing to install it fails the start.
	if l.opts.AllowPrivateEgress {
		return nil
	}
	t0 := time.Now()
	addrs, err := hostAddrs()
	if err == nil {
		err = l.installEgress(s.netns, egressPolicyFor(addrs, l.opts.EgressAllow))
	}
	if err != nil {
		return fmt.Errorf("installing the egress filter in the sandbox's network namespace: %w", err)
	}
	s.egressSetup = time.Since(t0)
	l.log.Debug("sandbox: egress filter installed", "sandbox", a.name, "took", s.egressSetup, "host_addrs", len(addrs))
	return nil
}
