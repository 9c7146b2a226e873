package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Helper processes are started from one OS thread that never exits.
//
// bwrap --die-with-parent uses PR_SET_PDEATHSIG, and Linux delivers that
// signal when the *thread* that forked the process exits, not the process.
// Go forks from whatever thread the calling goroutine runs on, and the
// runtime terminates a thread when a goroutine exits while locked to it
// (netns_dial.go does that on purpose if it cannot leave a sandbox's
// namespace; other code might too). Forking from a dedicated, permanently
// locked thread means the signal fires only when the server process dies,
// which is the point of the flag.

var launcher struct {
	once sync.Once
	reqs chan func()
}

// startOnLauncherThread runs cmd.Start on the launcher thread.
//
// Before each start, every fd of the server from 3 up is marked
// close-on-exec. Go opens all its fds that way, but fds the server
// inherited from whatever started it are not, and exec.Cmd passes them on
// (it closes nothing itself): they would end up open inside the sandbox.
// Only Stdin/Stdout/Stderr and ExtraFiles reach the child, as documented.
func startOnLauncherThread(cmd *exec.Cmd) error {
	launcher.once.Do(func() {
		launcher.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for f := range launcher.reqs {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	launcher.reqs <- func() {
		if err := cloexecAll(); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}
	return <-errc
}

// cloexecAll sets FD_CLOEXEC on every fd from 3 up: with one
// close_range(2) call on Linux 5.11+, else fd by fd.
func cloexecAll() error {
	err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if fd, err := strconv.Atoi(name); err == nil && fd > 2 {
			unix.CloseOnExec(fd) // the directory's own fd is closed by now: EBADF, ignored
		}
	}
	return nil
}
