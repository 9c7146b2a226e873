package sandbox

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"
)

// Limits caps one sandbox's resources. Zero means the driver's default.
type Limits struct {
	// MemoryBytes is the memory limit; going over it kills the sandbox
	// (ExitStatus.OOMKilled).
	MemoryBytes int64
	// CPUMillicores is the CPU limit in thousandths of a core.
	CPUMillicores int
	// Pids is the most processes and threads the sandbox may have.
	Pids int
}

// Mount makes a host directory visible inside the sandbox.
type Mount struct {
	HostPath    string
	SandboxPath string
	Writable    bool
}

// Spec describes a sandbox to start.
type Spec struct {
	// Name identifies the sandbox among all running ones (e.g.
	// "<deployment-id>-build" or "<deployment-id>-r0"). It names the
	// sandbox's cgroup, so Driver.Cleanup can find sandboxes left behind by
	// a previous server process.
	Name string
	// Mounts are the writable and read-only directories beyond the
	// read-only system directories (/usr, /bin, /lib, /etc, ...) the driver
	// always provides. Nothing else of the host is visible.
	Mounts []Mount
	// WorkDir is the working directory inside the sandbox.
	WorkDir string
	// Command is the argv to run inside the sandbox; Command[0] is looked up
	// in the sandbox's PATH.
	Command []string
	// Env is the complete environment, as "KEY=value".
	Env []string
	// Limits caps resources.
	Limits Limits
	// UID is the host uid (and gid) the sandbox's processes run as; 0
	// means the driver's default. Writable mounts are given to it.
	UID int
	// Network gives the sandbox outbound network access (to the internet,
	// never to the host's loopback). Without it the sandbox has only its own
	// loopback.
	Network bool
	// Forwards are TCP ports on the sandbox's own 127.0.0.1 that the
	// platform serves (an app's database, say), with or without Network.
	// They listen before the command starts and close when the sandbox
	// ends.
	Forwards []Forward
	// Stdout and Stderr receive the process's output. Writes must not block
	// for long: the driver copies output from a pipe.
	Stdout, Stderr io.Writer
}

// ExitStatus is how a sandbox ended.
type ExitStatus struct {
	// Code is the exit code of the sandbox's main process, or -1 if it was
	// killed by a signal.
	Code int
	// Signal is the signal that killed it, if any.
	Signal syscall.Signal
	// OOMKilled reports that the kernel killed a process of the sandbox for
	// exceeding its memory limit.
	OOMKilled bool
}

// Stats are a sandbox's resource use right now, read from its cgroup.
type Stats struct {
	// CPUUsage is the CPU time used since the sandbox started.
	CPUUsage time.Duration
	// MemoryBytes is the memory in use.
	MemoryBytes int64
	// MemoryLimitBytes is the enforced memory limit.
	MemoryLimitBytes int64
	// Pids is the number of processes and threads.
	Pids int
}

// Driver creates sandboxes.
type Driver interface {
	// Name names the driver ("local").
	Name() string
	// Check reports whether sandboxes can be started on this machine.
	Check(ctx context.Context) error
	// Start prepares and starts a sandbox. The sandbox runs until its main
	// process exits or it is stopped; ctx only bounds the start itself.
	Start(ctx context.Context, spec Spec) (Sandbox, error)
	// Cleanup kills and removes sandboxes left by an earlier server
	// process (after a crash or SIGKILL) for which keep returns false.
	Cleanup(ctx context.Context, keep func(name string) bool) error
	// Close releases what the driver itself holds once its sandboxes have
	// ended (the local driver: its cgroup root, when nothing is left in it).
	Close() error
}

// Sandbox is one running (or ended) sandbox.
type Sandbox interface {
	// Name is Spec.Name.
	Name() string
	// Done is closed when every process of the sandbox has ended.
	Done() <-chan struct{}
	// Status is how the sandbox ended; valid after Done is closed.
	Status() ExitStatus
	// Signal sends sig to the sandbox's main process.
	Signal(sig syscall.Signal) error
	// Stop sends SIGTERM to every process of the sandbox, waits up to grace,
	// then SIGKILLs what is left, and returns once all have ended and the
	// sandbox's resources (cgroup, network helper) are released.
	Stop(grace time.Duration) error
	// Stats reads current resource use.
	Stats() (Stats, error)
	// DialContext connects to an address inside the sandbox's network
	// namespace, e.g. ("tcp", "127.0.0.1:3000"). It is how the router
	// reaches an app that the host's own network cannot.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Preparer is a Driver that can make a sandbox ready ahead of need, all
// but its command: namespaces, mounts, cgroup, network, forwards. Starting
// a prepared sandbox then costs only its command's own start (a wake from
// sleep, say).
type Preparer interface {
	// Prepare sets up a sandbox for spec without running its command.
	// spec.Stdout and spec.Stderr are ignored: Prepared.Start names the
	// writers. The name stays taken until Start or Discard.
	Prepare(ctx context.Context, spec Spec) (Prepared, error)
}

// Prepared is a sandbox set up and waiting for its command. Exactly one of
// Start and Discard must be called, once.
type Prepared interface {
	// Name is Spec.Name.
	Name() string
	// Start runs the command, its output to stdout and stderr. A prepared
	// sandbox that ended while it waited is released and reported as an
	// error.
	Start(stdout, stderr io.Writer) (Sandbox, error)
	// Discard releases the sandbox without running its command.
	Discard()
}
