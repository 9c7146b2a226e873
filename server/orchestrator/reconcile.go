package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/coderunner/coderunner/server/logs"
)

// Reconcile brings what runs in line with the database; the server calls it
// once at start-up, before serving. Sandboxes left by a previous server
// process are killed; this node's deployments that were being deployed are
// deployed again, and those that were running are started again. Other
// nodes' deployments are left to them. Stored sources no deployment uses
// are removed.
func (m *Manager) Reconcile(ctx context.Context) error {
	if err := m.driver.Cleanup(ctx, func(string) bool { return false }); err != nil {
		return fmt.Errorf("clean up stray sandboxes: %w", err)
	}
	if err := m.removeSharedCaches(); err != nil {
		return fmt.Errorf("remove the shared build caches: %w", err)
	}
	// Rows without a node (from before nodes existed) become this server's.
	if err := m.store.Claim(ctx, m.cfg.Node); err != nil {
		return fmt.Errorf("claim deployments: %w", err)
	}
	list, err := m.store.OnNode(ctx, m.cfg.Node, "", StatusPending, StatusProvisioning, StatusBuilding, StatusRunning)
	if err != nil {
		return fmt.Errorf("list deployments to reconcile: %w", err)
	}
	for _, d := range list {
		rebuild := d.Status.inProgress()
		reason := "the server restarted; starting again"
		if rebuild {
			reason = fmt.Sprintf("the server restarted while the deployment was %s; deploying again", d.Status)
		}
		inst := m.instanceFor(&d)
		inst.mu.Lock()
		if _, err := m.transition(ctx, d.ID, StatusPending, reason); err == nil {
			m.say(ctx, inst, logs.Run, reason)
			m.launch(inst, func(ctx context.Context) { m.operate(ctx, inst, rebuild) })
		}
		inst.mu.Unlock()
	}
	m.sweepSources(ctx)
	m.sweepModules(ctx)
	asleep, err := m.store.OnNode(ctx, m.cfg.Node, "", StatusIdle)
	if err != nil {
		return fmt.Errorf("list sleeping deployments: %w", err)
	}
	// After serving begins: a wake that comes first starts its sandbox
	// anew (prepareWarm finds the deployment no longer asleep).
	go m.prepareAsleep(asleep)
	return nil
}

// prepareAsleep prepares the next wake's sandbox of each deployment in
// list, asleep when the server started.
func (m *Manager) prepareAsleep(list []Deployment) {
	for i := range list {
		inst := m.instanceFor(&list[i])
		inst.mu.Lock()
		if d, err := m.store.Get(context.Background(), inst.id); err == nil && inst.op == nil {
			m.prepareWarm(context.Background(), inst, d)
		}
		inst.mu.Unlock()
	}
}

// Target is a running replica the router can proxy to.
type Target struct {
	// DeploymentID is the deployment the replica belongs to.
	DeploymentID string
	// Name identifies the replica (its sandbox name), for connection pools.
	Name string
	// Dial connects inside the replica's network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	inflight *atomic.Int64
}

// Done tells that the request routed to the target has been answered (or
// its connection, for an upgrade, has closed).
func (t *Target) Done() {
	t.inflight.Add(-1)
}

// Route finds what serves slug: a running replica, or, when none runs, the
// deployment (for a page naming its status). A slug no deployment has gives
// (nil, nil, nil).
func (m *Manager) Route(ctx context.Context, slug string) (*Target, *Deployment, error) {
	m.mu.Lock()
	found := m.bySlug[slug]
	m.mu.Unlock()
	if found != nil {
		if sb, inflight := found.pick(); sb != nil {
			return &Target{DeploymentID: found.id, Name: sb.Name(), Dial: sb.DialContext, inflight: inflight}, nil, nil
		}
	}
	d, err := m.store.BySlug(ctx, slug)
	if errors.Is(err, ErrNoDeployment) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return nil, d, nil
}
