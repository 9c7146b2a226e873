package orchestrator_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
)

// TestReconcile: a server that starts on the rows of one that died kills
// the sandboxes left behind, starts again what was running and deploys
// again what was being deployed, each with a reason that says so.
func TestReconcile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dir := newDatabase(t)
	first := &sandboxtest.Driver{}
	m1 := openManager(t, first, db, dir)
	running := create(t, m1, "running", 1)
	building := create(t, m1, "building", 1)
	waitFor(t, m1, running.ID, orchestrator.StatusRunning)
	waitFor(t, m1, building.ID, orchestrator.StatusRunning)
	m1.Close() // the rows stay as they were, as after a crash
	if _, err := db.ExecContext(ctx, `UPDATE deployments SET status = 'building' WHERE id = ?`, building.ID); err != nil {
		t.Fatal(err)
	}

	second := &sandboxtest.Driver{}
	if _, err := second.Start(ctx, sandbox.Spec{Name: "left-behind"}); err != nil {
		t.Fatal(err)
	}
	m2 := openManager(t, second, db, dir)
	if err := m2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(second.Live(), "left-behind") {
		t.Error("Reconcile left a stray sandbox running")
	}
	waitFor(t, m2, running.ID, orchestrator.StatusRunning)
	waitFor(t, m2, building.ID, orchestrator.StatusRunning)
	if live := second.Live(); len(live) != 2 {
		t.Errorf("live sandboxes after reconcile %v, want one per deployment", live)
	}
	reasons := func(id string) string {
		events, _, err := m2.Events(ctx, owner, id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, e := range events {
			all = append(all, e.Reason)
		}
		return strings.Join(all, "\n")
	}
	if r := reasons(running.ID); !strings.Contains(r, "the server restarted; starting again") {
		t.Errorf("running deployment's reasons:\n%s", r)
	}
	if r := reasons(building.ID); !strings.Contains(r, "the server restarted while the deployment was building; deploying again") {
		t.Errorf("building deployment's reasons:\n%s", r)
	}
}

// TestReconcileLeavesOtherNodes: deployments another server runs are not
// started here, and rows without a node are claimed.
func TestReconcileLeavesOtherNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dir := newDatabase(t)
	m1 := openManager(t, &sandboxtest.Driver{}, db, dir, func(c *orchestrator.Config) { c.Node = "a" })
	theirs := create(t, m1, "theirs", 1)
	unowned := create(t, m1, "unowned", 1)
	waitFor(t, m1, theirs.ID, orchestrator.StatusRunning)
	waitFor(t, m1, unowned.ID, orchestrator.StatusRunning)
	m1.Close()
	if _, err := db.ExecContext(ctx, `UPDATE deployments SET node = '' WHERE id = ?`, unowned.ID); err != nil {
		t.Fatal(err)
	}
	drv := &sandboxtest.Driver{}
	m2 := openManager(t, drv, db, dir, func(c *orchestrator.Config) { c.Node = "b" })
	if err := m2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, m2, unowned.ID, orchestrator.StatusRunning)
	if got.Node != "b" {
		t.Errorf("claimed deployment's node %q, want b", got.Node)
	}
	for _, spec := range drv.Started() {
		if strings.HasPrefix(spec.Name, theirs.ID) {
			t.Errorf("node b started node a's deployment: %s", spec.Name)
		}
	}
	if _, err := m2.Stop(ctx, owner, theirs.ID); err == nil || !strings.Contains(err.Error(), "runs on another CodeRunner server (node a)") {
		t.Errorf("Stop of another node's deployment = %v", err)
	}
	time.Sleep(50 * time.Millisecond) // nothing should start it late either
	if d, _ := m2.Get(ctx, owner, theirs.ID); d.Status != orchestrator.StatusRunning || d.Node != "a" {
		t.Errorf("node a's deployment is %s on %q", d.Status, d.Node)
	}
}
