package orchestrator_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/autoscale"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
)

func warmWake(c *orchestrator.Config) { c.WarmWake = true }

// createSleeper creates a deployment whose policy lets it sleep, with
// FOO=one, and waits until it runs.
func createSleeper(t *testing.T, m *orchestrator.Manager, name string) *orchestrator.Deployment {
	t.Helper()
	d, err := m.Create(context.Background(), orchestrator.CreateRequest{
		OwnerID: owner, Name: name, Files: helloApp, Env: map[string]string{"FOO": "one"},
		Autoscale: &autoscale.Policy{MinGiven: true, MaxReplicas: 2, TargetInflight: 10, IdleTimeout: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	return waitFor(t, m, d.ID, orchestrator.StatusRunning)
}

func sleep(t *testing.T, m *orchestrator.Manager, id string) {
	t.Helper()
	if _, err := m.Sleep(context.Background(), owner, id, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// wake wakes the sleeping deployment id as a request would and waits
// until it serves and is RUNNING.
func wake(t *testing.T, m *orchestrator.Manager, id string) {
	t.Helper()
	d, err := m.Get(context.Background(), owner, id)
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Wake(context.Background(), d)
	if err != nil || w == nil {
		t.Fatalf("Wake: %v, %v", w, err)
	}
	<-w.Done()
	if w.Err() != nil {
		t.Fatalf("wake failed: %v", w.Err())
	}
	// It serves once routed, just before RUNNING is recorded.
	waitFor(t, m, id, orchestrator.StatusRunning)
}

// oneWaiting returns the one prepared sandbox waiting, failing unless
// exactly one is.
func oneWaiting(t *testing.T, drv *sandboxtest.Driver) string {
	t.Helper()
	if w := drv.Waiting(); len(w) != 1 {
		t.Fatalf("prepared sandboxes waiting: %v, want 1", w)
	}
	return drv.Waiting()[0]
}

func specNamed(specs []sandbox.Spec, name string) sandbox.Spec {
	i := slices.IndexFunc(specs, func(s sandbox.Spec) bool { return s.Name == name })
	if i < 0 {
		return sandbox.Spec{}
	}
	return specs[i]
}

// TestWarmWake: going to sleep prepares the next wake's sandbox, which the
// wake then starts; a configuration changed behind the manager's back
// makes the wake start anew with it; stop, delete and shutdown discard
// the prepared sandbox; a server that starts with a deployment asleep
// prepares one; WarmWake off prepares none.
func TestWarmWake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drv := &sandboxtest.Driver{}
	db, dir := newDatabase(t)
	m := openManager(t, drv, db, dir, warmWake)
	d := createSleeper(t, m, "sleeper")

	sleep(t, m, d.ID)
	first := oneWaiting(t, drv)
	if spec := specNamed(drv.Prepared(), first); !slices.Contains(spec.Env, "FOO=one") || !strings.Contains(first, "-w") {
		t.Errorf("prepared %s with env %v", first, spec.Env)
	}
	if slices.Contains(drv.Live(), first) {
		t.Error("the prepared sandbox runs before the wake")
	}
	wake(t, m, d.ID)
	if got := drv.FromPrepared(); !slices.Equal(got, []string{first}) {
		t.Errorf("started from prepared: %v, want [%s]", got, first)
	}
	if live := drv.Live(); !slices.Equal(live, []string{first}) {
		t.Errorf("live after the wake: %v, want the prepared sandbox only", live)
	}

	// The environment changes in the database, not through an action.
	sleep(t, m, d.ID)
	second := oneWaiting(t, drv)
	if _, err := db.ExecContext(ctx, `UPDATE deployments SET env = '{"FOO":"two"}' WHERE id = ?`, d.ID); err != nil {
		t.Fatal(err)
	}
	wake(t, m, d.ID)
	if got := drv.FromPrepared(); len(got) != 1 || !slices.Contains(drv.Discarded(), second) {
		t.Errorf("a stale prepared sandbox: started from prepared %v, discarded %v", got, drv.Discarded())
	}
	started := drv.Started()
	if last := started[len(started)-1]; !slices.Contains(last.Env, "FOO=two") || strings.Contains(last.Name, "-w") {
		t.Errorf("the wake after the change started %s with %v", last.Name, last.Env)
	}

	for _, end := range []struct {
		name string
		do   func() error
	}{
		{"stop", func() error { _, err := m.Stop(ctx, owner, d.ID); return err }},
		{"delete", func() error {
			if _, err := m.Start(ctx, owner, d.ID); err != nil {
				return err
			}
			waitFor(t, m, d.ID, orchestrator.StatusRunning)
			sleep(t, m, d.ID)
			oneWaiting(t, drv)
			return m.Delete(ctx, owner, d.ID)
		}},
	} {
		if end.name == "stop" {
			sleep(t, m, d.ID)
			oneWaiting(t, drv)
		}
		if err := end.do(); err != nil {
			t.Fatalf("%s: %v", end.name, err)
		}
		if w := drv.Waiting(); len(w) != 0 {
			t.Errorf("after %s, prepared sandboxes wait: %v", end.name, w)
		}
	}

	// Shutdown discards; the next server prepares the sleeper again.
	d = createSleeper(t, m, "restarted")
	sleep(t, m, d.ID)
	oneWaiting(t, drv)
	m.Close()
	if w := drv.Waiting(); len(w) != 0 {
		t.Errorf("after Close, prepared sandboxes wait: %v", w)
	}
	next := &sandboxtest.Driver{}
	m2 := openManager(t, next, db, dir, warmWake)
	if err := m2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(next.Waiting()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	prepared := oneWaiting(t, next)
	wake(t, m2, d.ID)
	if got := next.FromPrepared(); !slices.Equal(got, []string{prepared}) {
		t.Errorf("after a restart, started from prepared: %v, want [%s]", got, prepared)
	}
}

// TestWarmWakeOff: with WarmWake off, sleeping prepares nothing and the
// wake starts a sandbox anew.
func TestWarmWakeOff(t *testing.T) {
	t.Parallel()
	drv := &sandboxtest.Driver{}
	m := newManager(t, drv)
	d := createSleeper(t, m, "sleeper")
	sleep(t, m, d.ID)
	if len(drv.Prepared()) != 0 {
		t.Errorf("prepared %v with WarmWake off", drv.Prepared())
	}
	wake(t, m, d.ID)
	if len(drv.FromPrepared()) != 0 || len(drv.Live()) != 1 {
		t.Errorf("from prepared %v, live %v", drv.FromPrepared(), drv.Live())
	}
}
