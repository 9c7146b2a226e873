package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Outbound network for a sandbox. The sandbox has a network namespace of
// its own (with just a loopback); slirp4netns gives it a tap device whose
// packets it turns into ordinary sockets on the host, a user-mode NAT. The
// sandbox gets 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3.
// --disable-host-loopback makes slirp refuse connections to the host's
// loopback (10.0.2.2 would otherwise be the host's 127.0.0.1), so local
// services like PostgreSQL on 127.0.0.1:5432 stay out of reach. Everything
// else the host reaches (its other addresses, its LAN, the cloud's
// metadata service) is kept out by the egress filter that the driver
// installs in the sandbox's namespace once tap0 is up (egress.go).
//
// It runs as root because it has to open /dev/net/tun, which may be
// root-only (mode 0600; Debian makes it 0666, some VMs and containers do
// not), but it immediately joins the sandbox's user namespace
// (--userns-path) and so holds capabilities only over the sandbox's own
// namespaces; --enable-sandbox then moves it into an empty mount namespace
// without capabilities and --enable-seccomp filters its syscalls, because
// it parses packets the untrusted app writes.
//
// Its lifetime is tied to the server by --exit-fd: it exits when the pipe's
// write end, held by the server, closes, which the kernel does when the
// server dies for any reason. The driver also moves it into the sandbox's
// cgroup, so Cleanup finds and kills one left behind like any sandbox
// process.

// slirpMTU is the MTU slirp4netns recommends for speed (the default 1500
// costs throughput for nothing: the "link" is a local pipe).
const slirpMTU = 65520

// slirpDNS is the resolver slirp4netns answers on inside the sandbox; it
// forwards to the host's resolvers.
const slirpDNS = "10.0.2.3"

type slirp struct {
	cmd    *exec.Cmd
	exitW  *os.File // closing it tells slirp4netns to exit
	output *tailWriter
	done   chan struct{}
}

// startSlirp starts slirp4netns for the network namespace netns and waits
// until the sandbox's tap0 is configured.
func startSlirp(ctx context.Context, path string, netns *os.File, log *slog.Logger) (*slirp, error) {
	userns, err := ownerUserns(netns)
	if err != nil {
		return nil, err
	}
	defer func() { _ = userns.Close() }()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer func() { _ = readyR.Close() }()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		_ = readyW.Close()
		return nil, err
	}
	s := &slirp{exitW: exitW, output: newTailWriter(log), done: make(chan struct{})}
	// ExtraFiles become fds 3, 4, 5, 6 in the child. The namespaces are
	// passed as open fds (named through /proc/self/fd) so no pid is needed.
	cmd := exec.Command(path,
		"--configure",
		fmt.Sprintf("--mtu=%d", slirpMTU),
		"--disable-host-loopback",
		"--enable-sandbox",
		"--enable-seccomp",
		"--ready-fd=3",
		"--exit-fd=4",
		"--userns-path=/proc/self/fd/5",
		"--netns-type=path",
		"/proc/self/fd/6",
		"tap0")
	cmd.ExtraFiles = []*os.File{readyW, exitR, userns, netns}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	cmd.Env = []string{}
	cmd.WaitDelay = time.Second
	s.cmd = cmd
	err = startOnLauncherThread(cmd)
	_ = readyW.Close()
	_ = exitR.Close()
	if err != nil {
		_ = exitW.Close()
		return nil, fmt.Errorf("starting slirp4netns: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()

	// slirp4netns writes "1" to the ready fd once tap0 is up and
	// configured; EOF means it exited.
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := io.ReadFull(readyR, b)
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("slirp4netns did not configure the sandbox's network: %v: %s", err, s.output.tail())
	}
	return s, nil
}

func (s *slirp) pid() int { return s.cmd.Process.Pid }

// stop makes slirp4netns exit and waits for it (killing it if it does not
// react to its exit fd within a second).
func (s *slirp) stop() {
	_ = s.exitW.Close()
	select {
	case <-s.done:
		return
	case <-time.After(time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// tailWriter logs a helper's output line by line at debug level and keeps
// the last few KiB for error messages.
type tailWriter struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte
	last    []byte
}

func newTailWriter(log *slog.Logger) *tailWriter { return &tailWriter{log: log} }

const tailSize = 2048

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, p...)
	if len(w.last) > tailSize {
		w.last = w.last[len(w.last)-tailSize:]
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.partial[:i])); line != "" {
			w.log.Debug("slirp4netns", "line", line)
		}
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *tailWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.last))
}

// errSlirpMissing is returned when a sandbox needs network and
// slirp4netns is not installed.
var errSlirpMissing = errors.New("slirp4netns is not installed, so sandboxes with network (builds) cannot start: run `make run` as root or `apt-get install slirp4netns`")
