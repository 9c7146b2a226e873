package orchestrator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
)

// refused asserts err is of kind with a message containing want.
func refused(t *testing.T, err error, kind errs.Kind, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want %v %q", kind, want)
	}
	if !errs.Is(err, kind) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want kind %v containing %q", err, kind, want)
	}
}

// TestActions walks one deployment through every action and the
// refusals each status gives.
func TestActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drv := &sandboxtest.Driver{}
	m := newManager(t, drv)
	d := create(t, m, "walk", 1)
	waitFor(t, m, d.ID, orchestrator.StatusRunning)

	_, err := m.Start(ctx, owner, d.ID)
	refused(t, err, errs.KindFailedPrecondition, "is already running")

	if _, err := m.Stop(ctx, owner, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, d.ID, orchestrator.StatusStopped)
	_, err = m.Stop(ctx, owner, d.ID)
	refused(t, err, errs.KindFailedPrecondition, "is not running (it is stopped)")
	_, err = m.Restart(ctx, owner, d.ID)
	refused(t, err, errs.KindFailedPrecondition, "use StartDeployment")

	if _, err := m.Start(ctx, owner, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, d.ID, orchestrator.StatusRunning)
	started := len(drv.Started())

	if _, err := m.Restart(ctx, owner, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, d.ID, orchestrator.StatusRunning)
	waitLive(t, drv, 1)
	if len(drv.Started()) != started+1 {
		t.Errorf("a restart started %d sandboxes, want 1", len(drv.Started())-started)
	}

	two := 2
	if _, err := m.Update(ctx, owner, d.ID, orchestrator.UpdateRequest{Replicas: &two, Env: map[string]string{"A": "1"}, SetEnv: true}); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, m, d.ID, orchestrator.StatusRunning)
	waitLive(t, drv, 2)
	if got.Replicas != 2 || got.Env["A"] != "1" {
		t.Errorf("after Update: replicas %d env %v", got.Replicas, got.Env)
	}

	if err := m.Delete(ctx, owner, d.ID); err != nil {
		t.Fatal(err)
	}
	waitLive(t, drv, 0)
	if got, err := m.Get(ctx, owner, d.ID); err != nil || got.Status != orchestrator.StatusDestroyed {
		t.Fatalf("after Delete: %v, %v", got, err)
	}
	_, err = m.Start(ctx, owner, d.ID)
	refused(t, err, errs.KindFailedPrecondition, "was deleted")
	if list, total, _, _ := m.List(ctx, owner, orchestrator.ListFilter{}, 0, 10); total != 0 {
		t.Errorf("List after Delete: %v", list)
	}
	// The name is free again.
	waitFor(t, m, create(t, m, "walk", 1).ID, orchestrator.StatusRunning)
}

// TestCreateRefusals: a taken name, another owner's deployment and the
// per-user limit are refused with their kinds.
func TestCreateRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newManager(t, &sandboxtest.Driver{}, func(c *orchestrator.Config) { c.MaxDeploymentsPerUser = 2 })
	d := create(t, m, "one", 1)
	_, err := m.Create(ctx, orchestrator.CreateRequest{OwnerID: owner, Name: "one", Files: helloApp})
	refused(t, err, errs.KindAlreadyExists, `you already have a deployment named "one"`)
	create(t, m, "two", 1)
	_, err = m.Create(ctx, orchestrator.CreateRequest{OwnerID: owner, Name: "three", Files: helloApp})
	refused(t, err, errs.KindResourceExhausted, "you have 2 deployments, the most allowed")
	_, err = m.Get(ctx, "01a00000-0000-7000-8000-000000000002", d.ID)
	refused(t, err, errs.KindNotFound, "deployment not found")
	if n, _ := m.IDs(ctx, owner); len(n) != 2 {
		t.Errorf("IDs = %v: a refused Create left a row", n)
	}
}

// TestHandoverDrains: a redeploy routes new requests to the new revision
// once it is ready, and the previous one stops only when its open
// request has been answered.
func TestHandoverDrains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drv := &sandboxtest.Driver{}
	m := newManager(t, drv, func(c *orchestrator.Config) { c.DrainTimeout = time.Minute })
	d := create(t, m, "drain", 1)
	waitFor(t, m, d.ID, orchestrator.StatusRunning)
	open, _, err := m.Route(ctx, d.Slug)
	if err != nil || open == nil || !strings.Contains(open.Name, "-v1-") {
		t.Fatalf("Route before the redeploy = %+v, %v", open, err)
	}
	if _, err := m.Redeploy(ctx, owner, d.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		target, _, err := m.Route(ctx, d.Slug)
		if err != nil {
			t.Fatal(err)
		}
		if target != nil {
			target.Done()
			if strings.Contains(target.Name, "-v2-") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the new revision was never routed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if live := drv.Live(); len(live) != 2 {
		t.Fatalf("live %v: revision 1 stopped with a request open", live)
	}
	open.Done()
	waitLive(t, drv, 1)
	if live := drv.Live(); !strings.Contains(live[0], "-v2-") {
		t.Errorf("live %v, want revision 2's replica", live)
	}
}

// waitLive waits until n sandboxes are live.
func waitLive(t *testing.T, drv *sandboxtest.Driver, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(drv.Live()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("live sandboxes %v, want %d", drv.Live(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
