package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prepare prepares a sandbox for the test; the test starts or discards it.
func prepare(t *testing.T, d *Local, spec Spec) *localPrepared {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := d.Prepare(ctx, withTestDefaults(t, spec))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p.(*localPrepared)
}

// A prepared sandbox holds its cgroup with bwrap's pid 1 in it, runs
// nothing of its command until Start, then runs it with the writers Start
// names (not the spec's).
func TestPrepareThenStart(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	dir := hostDir(t)
	var ignored syncBuffer
	p := prepare(t, d, Spec{
		Command: []string{"sh", "-c", `echo ran > /work/marker; echo out; echo err >&2; exit 3`},
		Mounts:  []Mount{{HostPath: dir, SandboxPath: "/work", Writable: true}},
		Network: true,
		Stdout:  &ignored, Stderr: &ignored,
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "marker")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the command ran before Start (marker: %v)", err)
	}
	if pids, err := cgroupProcs(p.a.s.dirs); err != nil || len(pids) == 0 {
		t.Fatalf("prepared sandbox's cgroup holds %v (%v); want its pid 1 (and slirp4netns)", pids, err)
	}
	if _, err := d.Prepare(context.Background(), Spec{Name: p.Name(), Command: []string{"true"}}); err == nil {
		t.Fatal("a second sandbox took the prepared one's name")
	}
	var out, errOut syncBuffer
	sb, err := p.Start(&out, &errOut)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitDone(t, sb, 20*time.Second)
	if st := sb.Status(); st.Code != 3 || out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("status %+v, stdout %q, stderr %q", st, out.String(), errOut.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "marker")); err != nil || string(b) != "ran\n" {
		t.Errorf("marker %q, %v", b, err)
	}
	if ignored.String() != "" {
		t.Errorf("the spec's writers got %q; Start's should have", ignored.String())
	}
	if err := sb.Stop(0); err != nil {
		t.Error(err)
	}
	assertCgroupGone(t, sb.(*localSandbox))
	if _, err := p.Start(&out, &errOut); err == nil {
		t.Error("a prepared sandbox started twice")
	}
}

// Discard ends the waiting processes, removes the cgroup and frees the
// name; nothing of the command ever ran.
func TestPrepareDiscard(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	dir := hostDir(t)
	spec := Spec{
		Command: []string{"sh", "-c", `echo ran > /work/marker`},
		Mounts:  []Mount{{HostPath: dir, SandboxPath: "/work", Writable: true}},
		Network: true,
	}
	p := prepare(t, d, spec)
	bwrapPid, slirpPid := p.a.s.cmd.Process.Pid, p.a.s.slirp.pid()
	p.Discard()
	p.Discard() // twice is harmless
	assertCgroupGone(t, p.a.s)
	for _, pid := range []int{bwrapPid, slirpPid} {
		if alive(pid, 0) {
			t.Errorf("process %d outlived Discard", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a discarded sandbox's command ran (marker: %v)", err)
	}
	if _, err := p.Start(nil, nil); err == nil {
		t.Error("a discarded sandbox started")
	}
	spec.Name = p.Name()
	spec.Command = []string{"true"}
	_, _, st := run(t, d, spec)
	if st.Code != 0 {
		t.Errorf("the freed name's sandbox: %+v", st)
	}
}

// A prepared sandbox whose bwrap was killed while it waited fails to
// Start with a clear error and leaves nothing behind.
func TestPreparedKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	p := prepare(t, d, Spec{Command: []string{"true"}})
	if err := syscall.Kill(-p.a.s.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.a.s.exited
	_, err := p.Start(nil, nil)
	if err == nil || !strings.Contains(err.Error(), "ended before its command ran") {
		t.Fatalf("Start after the kill: %v", err)
	}
	assertCgroupGone(t, p.a.s)
	d.mu.Lock()
	_, held := d.running[p.Name()]
	d.mu.Unlock()
	if held {
		t.Error("the name is still taken")
	}
}
