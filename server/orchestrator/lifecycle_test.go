package orchestrator_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
	"github.com/coderunner/coderunner/server/source"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// These tests drive the orchestrator's state machine on sandboxtest's fake
// driver: no root, no bubblewrap, no processes. What needs real sandboxes
// (isolation, limits, real apps) is tested through full servers in api.

const owner = "01a00000-0000-7000-8000-000000000001"

// helloApp is a Node.js app without dependencies: no build sandbox runs.
var helloApp = []source.File{
	{Path: "package.json", Content: []byte(`{"name":"hello"}`)},
	{Path: "index.js", Content: []byte(`require("http").createServer((q, s) => s.end("hi")).listen(process.env.PORT)`)},
}

func newManager(t *testing.T, drv *sandboxtest.Driver, configure ...func(*orchestrator.Config)) *orchestrator.Manager {
	t.Helper()
	db, dir := newDatabase(t)
	return openManager(t, drv, db, dir, configure...)
}

// newDatabase returns a fresh SQLite database in a fresh data dir, with
// the test's owner as a user.
func newDatabase(t *testing.T) (*bun.DB, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, 'a@example.com', 'x', ?, ?)`, owner, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db, dir
}

// openManager returns a Manager on db and dir, as a server starting on
// them would make it.
func openManager(t *testing.T, drv *sandboxtest.Driver, db *bun.DB, dir string, configure ...func(*orchestrator.Config)) *orchestrator.Manager {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	logSvc := logs.New(db, logs.Options{Logger: logger})
	t.Cleanup(logSvc.Close)
	cfg := orchestrator.Config{
		DataDir:               dir,
		AppsDomain:            "localhost",
		PublicPort:            8080,
		Limits:                sandbox.Limits{MemoryBytes: 256 << 20, CPUMillicores: 1000, Pids: 64},
		BuildTimeout:          10 * time.Second,
		ReadyTimeout:          2 * time.Second,
		CrashBackoff:          10 * time.Millisecond,
		DrainTimeout:          time.Second,
		MaxDeploymentsPerUser: 10,
	}
	for _, f := range configure {
		f(&cfg)
	}
	m, err := orchestrator.New(sqlstore.New(db), drv, logSvc, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// waitFor polls until the deployment is want, failing on another settled
// status.
func waitFor(t *testing.T, m *orchestrator.Manager, id string, want orchestrator.Status) *orchestrator.Deployment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := m.Get(context.Background(), owner, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment is %s (%s), want %s", d.Status, d.StatusReason, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func create(t *testing.T, m *orchestrator.Manager, name string, replicas int) *orchestrator.Deployment {
	t.Helper()
	d, err := m.Create(context.Background(), orchestrator.CreateRequest{OwnerID: owner, Name: name, Files: helloApp, Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCreateRunsReplicas: a deployment goes PENDING → PROVISIONING →
// BUILDING → RUNNING with one sandbox per replica, and Stop ends them.
func TestCreateRunsReplicas(t *testing.T) {
	drv := &sandboxtest.Driver{}
	m := newManager(t, drv)
	d := create(t, m, "hello", 2)
	waitFor(t, m, d.ID, orchestrator.StatusRunning)
	if live := drv.Live(); len(live) != 2 {
		t.Errorf("live sandboxes %v, want 2 replicas", live)
	}
	for _, spec := range drv.Started() {
		if !slices.Contains(spec.Env, "PORT=3000") || spec.WorkDir != "/app" {
			t.Errorf("replica spec env %v workdir %s", spec.Env, spec.WorkDir)
		}
	}
	events, _, err := m.Events(context.Background(), owner, d.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for i := len(events) - 1; i >= 0; i-- {
		path = append(path, string(events[i].Status))
	}
	if got := strings.Join(path, " "); !strings.HasSuffix(got, "pending provisioning building running") && !strings.HasPrefix(got, "running building provisioning pending") {
		t.Errorf("events %q", got)
	}
	if _, err := m.Stop(context.Background(), owner, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, d.ID, orchestrator.StatusStopped)
	if live := drv.Live(); len(live) != 0 {
		t.Errorf("after Stop, sandboxes %v still live", live)
	}
}

// TestCrashRestarts: a replica that exits is restarted after the back-off,
// counted, and the deployment stays RUNNING.
func TestCrashRestarts(t *testing.T) {
	var starts atomic.Int32
	drv := &sandboxtest.Driver{Behave: func(sandbox.Spec) sandboxtest.Behaviour {
		if starts.Add(1) == 1 {
			return sandboxtest.Behaviour{Serves: true, ExitAfter: 50 * time.Millisecond, Exit: sandbox.ExitStatus{Code: 3}}
		}
		return sandboxtest.Behaviour{Serves: true}
	}}
	m := newManager(t, drv)
	d := create(t, m, "flaky", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := m.Get(context.Background(), owner, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RestartCount == 1 && got.Status == orchestrator.StatusRunning && len(drv.Started()) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a crash: %s (%s), restarts %d, starts %d", got.Status, got.StatusReason, got.RestartCount, len(drv.Started()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrashLoopFails: a replica that keeps exiting ends in FAILED with a
// crash-loop reason naming the exit code.
func TestCrashLoopFails(t *testing.T) {
	drv := &sandboxtest.Driver{Behave: func(sandbox.Spec) sandboxtest.Behaviour {
		return sandboxtest.Behaviour{Serves: true, ExitAfter: 20 * time.Millisecond, Exit: sandbox.ExitStatus{Code: 7}}
	}}
	m := newManager(t, drv)
	d := waitFor(t, m, create(t, m, "looping", 1).ID, orchestrator.StatusFailed)
	if !strings.Contains(d.StatusReason, "crash loop") || !strings.Contains(d.StatusReason, "code 7") {
		t.Errorf("reason %q", d.StatusReason)
	}
	if live := drv.Live(); len(live) != 0 {
		t.Errorf("a FAILED deployment left sandboxes %v", live)
	}
}

// TestExitBeforeReady: an app that exits before listening fails the
// deployment with its exit code.
func TestExitBeforeReady(t *testing.T) {
	drv := &sandboxtest.Driver{Behave: func(sandbox.Spec) sandboxtest.Behaviour {
		return sandboxtest.Behaviour{Exit: sandbox.ExitStatus{Code: 1}}
	}}
	m := newManager(t, drv)
	d := waitFor(t, m, create(t, m, "typo", 1).ID, orchestrator.StatusFailed)
	if !strings.Contains(d.StatusReason, "before listening on port 3000") {
		t.Errorf("reason %q", d.StatusReason)
	}
}

// TestRedeployKeepsPrevious: when the new revision cannot start, the
// previous one serves on and the deployment stays RUNNING with
// replacement_failed set.
func TestRedeployKeepsPrevious(t *testing.T) {
	drv := &sandboxtest.Driver{Behave: func(spec sandbox.Spec) sandboxtest.Behaviour {
		if strings.Contains(spec.Name, "-v2-") {
			return sandboxtest.Behaviour{Exit: sandbox.ExitStatus{Code: 1}}
		}
		return sandboxtest.Behaviour{Serves: true}
	}}
	m := newManager(t, drv)
	d := create(t, m, "keep", 1)
	waitFor(t, m, d.ID, orchestrator.StatusRunning)
	if _, err := m.Redeploy(context.Background(), owner, d.ID, helloApp, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := m.Get(context.Background(), owner, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ReplacementFailed {
			if got.Status != orchestrator.StatusRunning || got.Revision != 1 || !strings.Contains(got.StatusReason, "revision 1 serves on") {
				t.Errorf("after a failed redeploy: %s rev %d (%s)", got.Status, got.Revision, got.StatusReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed redeploy was not reported: %s (%s)", got.Status, got.StatusReason)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if live := drv.Live(); len(live) != 1 || !strings.Contains(live[0], "-v1-") {
		t.Errorf("live sandboxes %v, want revision 1's replica", live)
	}
}
