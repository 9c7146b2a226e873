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
