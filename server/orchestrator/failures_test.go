package orchestrator_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
	"github.com/coderunner/coderunner/server/source"
)

// depsApp has a dependency, so deploying it runs a build sandbox.
var depsApp = []source.File{
	{Path: "package.json", Content: []byte(`{"name":"deps","dependencies":{"left-pad":"1.3.0"}}`)},
	{Path: "index.js", Content: []byte(`require("http").createServer((q, s) => s.end("hi")).listen(process.env.PORT)`)},
}

func isBuild(spec sandbox.Spec) bool { return strings.HasSuffix(spec.Name, "-build") }

// installs plays npm: it makes node_modules in the build's app dir.
func installs(spec sandbox.Spec) sandboxtest.Behaviour {
	for _, mount := range spec.Mounts {
		if mount.SandboxPath == "/app" {
			_ = os.MkdirAll(filepath.Join(mount.HostPath, "node_modules", "left-pad"), 0o755)
		}
	}
	return sandboxtest.Behaviour{Output: "added 1 package\n"}
}

func createFiles(t *testing.T, m *orchestrator.Manager, name string, files []source.File) *orchestrator.Deployment {
	t.Helper()
	d, err := m.Create(context.Background(), orchestrator.CreateRequest{OwnerID: owner, Name: name, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBuildRunsAndCaches: a build sandbox with network runs npm; the
// second deployment of the same dependencies reuses the cached
// node_modules without a build.
func TestBuildRunsAndCaches(t *testing.T) {
	t.Parallel()
	drv := &sandboxtest.Driver{Behave: func(spec sandbox.Spec) sandboxtest.Behaviour {
		if isBuild(spec) {
			return installs(spec)
		}
		return sandboxtest.Behaviour{Serves: true}
	}}
	m := newManager(t, drv)
	waitFor(t, m, createFiles(t, m, "first", depsApp).ID, orchestrator.StatusRunning)
	second := waitFor(t, m, createFiles(t, m, "second", depsApp).ID, orchestrator.StatusRunning)
	builds := 0
	for _, spec := range drv.Started() {
		if isBuild(spec) {
			builds++
			if !spec.Network || !strings.Contains(strings.Join(spec.Command, " "), "npm install") {
				t.Errorf("build spec network %v command %v", spec.Network, spec.Command)
			}
		}
	}
	if builds != 1 {
		t.Errorf("%d builds, want 1 (the second reuses the cache)", builds)
	}
	events, _, _ := m.Events(context.Background(), owner, second.ID, 0, 100)
	if !strings.Contains(reasonsOf(events), "reusing cached node_modules") {
		t.Errorf("second deployment's reasons:\n%s", reasonsOf(events))
	}
}

func reasonsOf(events []orchestrator.Event) string {
	var all []string
	for _, e := range events {
		all = append(all, e.Reason)
	}
	return strings.Join(all, "\n")
}

// TestBuildFails: a build that exits non-zero fails the deployment with
// its command, exit code and output.
func TestBuildFails(t *testing.T) {
	t.Parallel()
	drv := &sandboxtest.Driver{Behave: func(spec sandbox.Spec) sandboxtest.Behaviour {
		if isBuild(spec) {
			return sandboxtest.Behaviour{Output: "npm ERR! 404 left-pad\n", Exit: sandbox.ExitStatus{Code: 1}}
		}
		return sandboxtest.Behaviour{Serves: true}
	}}
	m := newManager(t, drv)
	d := waitFor(t, m, createFiles(t, m, "broken", depsApp).ID, orchestrator.StatusFailed)
	for _, want := range []string{"build failed: npm install", "exited with code 1", "npm ERR! 404 left-pad"} {
		if !strings.Contains(d.StatusReason, want) {
			t.Errorf("reason %q lacks %q", d.StatusReason, want)
		}
	}
}

// TestBuildTimeout: a build still running at BuildTimeout is stopped and
// the deployment fails saying so.
func TestBuildTimeout(t *testing.T) {
	t.Parallel()
	drv := &sandboxtest.Driver{Behave: func(spec sandbox.Spec) sandboxtest.Behaviour {
		if isBuild(spec) {
			return sandboxtest.Behaviour{ExitAfter: time.Hour}
		}
		return sandboxtest.Behaviour{Serves: true}
	}}
	m := newManager(t, drv, func(c *orchestrator.Config) { c.BuildTimeout = 100 * time.Millisecond })
	d := waitFor(t, m, createFiles(t, m, "slow", depsApp).ID, orchestrator.StatusFailed)
	if !strings.Contains(d.StatusReason, "build timed out after 100ms") {
		t.Errorf("reason %q", d.StatusReason)
	}
	if live := drv.Live(); len(live) != 0 {
		t.Errorf("the timed-out build still runs: %v", live)
	}
}

// TestOOMKillRestarts: a replica the kernel kills for memory is restarted
// with a reason naming the limit, and counted.
func TestOOMKillRestarts(t *testing.T) {
	t.Parallel()
	oom := make(chan struct{}, 1)
	oom <- struct{}{}
	drv := &sandboxtest.Driver{Behave: func(sandbox.Spec) sandboxtest.Behaviour {
		select {
		case <-oom:
			// Long enough after serving that a loaded machine records it
			// running before the kill.
			return sandboxtest.Behaviour{Serves: true, ExitAfter: 300 * time.Millisecond,
				Exit: sandbox.ExitStatus{Code: -1, Signal: syscall.SIGKILL, OOMKilled: true}}
		default:
			return sandboxtest.Behaviour{Serves: true}
		}
	}}
	m := newManager(t, drv)
	d := create(t, m, "hog", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		events, _, _ := m.Events(context.Background(), owner, d.ID, 0, 100)
		if r := reasonsOf(events); strings.Contains(r, "out of memory (limit 256 MiB); replica 0 restarting in") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OOM reason; reasons:\n%s", reasonsOf(events))
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := waitFor(t, m, d.ID, orchestrator.StatusRunning)
	if got.RestartCount != 1 {
		t.Errorf("restart count %d, want 1", got.RestartCount)
	}
	for _, r := range m.Running() {
		if r.DeploymentID == d.ID && r.OOMKills != 1 {
			t.Errorf("OOM kills %d, want 1", r.OOMKills)
		}
	}
}

// TestDiskQuota: a running app whose files exceed the quota fails.
func TestDiskQuota(t *testing.T) {
	t.Parallel()
	m := newManager(t, &sandboxtest.Driver{}, func(c *orchestrator.Config) { c.DiskQuotaBytes = 16 })
	d := waitFor(t, m, create(t, m, "big", 1).ID, orchestrator.StatusFailed)
	if !strings.Contains(d.StatusReason, "disk quota exceeded") || !strings.Contains(d.StatusReason, "the limit is 16 bytes") {
		t.Errorf("reason %q", d.StatusReason)
	}
}

// TestSandboxStartError: a sandbox that cannot start fails the deployment
// with the driver's error.
func TestSandboxStartError(t *testing.T) {
	t.Parallel()
	drv := &sandboxtest.Driver{StartError: func(sandbox.Spec) error { return errors.New("no cgroup for you") }}
	m := newManager(t, drv)
	d := waitFor(t, m, create(t, m, "nostart", 1).ID, orchestrator.StatusFailed)
	if !strings.Contains(d.StatusReason, "no cgroup for you") {
		t.Errorf("reason %q", d.StatusReason)
	}
}
