package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
)

// replicaSet is a supervised run's replicas as they change: crash
// restarts replace one in its slot, scaling appends new ones or drains
// and drops the last.
type replicaSet struct {
	replicas []sandbox.Sandbox
	// next numbers the next replica scaling adds: numbers are never
	// reused within a run, so a new replica's sandbox name never meets a
	// draining one's.
	next     int
	exited   chan sandbox.Sandbox
	draining sync.WaitGroup
}

// watch reports sb's exit on exited.
func (s *replicaSet) watch(ctx context.Context, sb sandbox.Sandbox) {
	go func() {
		select {
		case <-sb.Done():
		case <-ctx.Done():
			return
		}
		select {
		case s.exited <- sb:
		case <-ctx.Done():
		}
	}()
}

// retry reports sb's exit again, for a restart that failed.
func (s *replicaSet) retry(ctx context.Context, sb sandbox.Sandbox) {
	go func() {
		select {
		case s.exited <- sb:
		case <-ctx.Done():
		}
	}()
}

// Scale sets deployment id's replica count to n without a restart: a
// running deployment starts the new replicas beside its others and routes
// to each once it is ready, or stops routing to the last ones, lets them
// answer their open requests (at most Config.DrainTimeout) and stops
// them. reason is the event's (who or what decided, and why). Scale is
// not configuration: it makes no release.
func (m *Manager) Scale(ctx context.Context, ownerID, id string, n int, reason string) (*Deployment, error) {
	return m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if n == d.Replicas {
			return d, nil
		}
		reason := fmt.Sprintf("scaled %d → %d: %s", d.Replicas, n, reason)
		d, err := m.transition(ctx, d.ID, d.Status, reason, func(d *Deployment) { d.Replicas = n })
		if err != nil {
			return nil, err
		}
		inst.setDesired(n)
		return d, nil
	})
}

// setDesired asks the current operation for n replicas (under mu).
func (inst *instance) setDesired(n int) {
	inst.desired.Store(int64(n))
	if inst.op == nil {
		return
	}
	select {
	case inst.op.rescaled <- struct{}{}:
	default:
	}
}

// rescale brings set to the desired count: new replicas first, each
// routed once ready; the last ones drained and stopped in the
// background (supervise waits for them before it returns).
func (m *Manager) rescale(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, start int64, set *replicaSet) {
	if detached(ctx) {
		return // the replacement runs the new count
	}
	want := int(inst.desired.Load())
	for want > len(set.replicas) && ctx.Err() == nil {
		i := set.next
		set.next++
		sb, err := m.startReplica(ctx, inst, d, plan, start, i, m.appDir(d.ID))
		if err != nil {
			if ctx.Err() == nil {
				m.say(ctx, inst, logs.Run, fmt.Sprintf("scaling up: replica %d did not start: %v", i, err))
			}
			return
		}
		inst.addReplica(sb)
		set.replicas = append(set.replicas, sb)
		set.watch(ctx, sb)
	}
	if want >= len(set.replicas) || want < 1 {
		return
	}
	gone := slices.Clone(set.replicas[want:])
	set.replicas = set.replicas[:want]
	inst.unroute(gone)
	set.draining.Add(1)
	go func() {
		defer set.draining.Done()
		m.drainReplicas(ctx, inst, gone)
		for _, sb := range gone {
			_ = sb.Stop(m.cfg.StopGrace)
		}
		inst.removeReplicas(gone)
	}()
}

// drainReplicas waits until gone, routed to no more, have answered the
// router's requests, for at most Config.DrainTimeout.
func (m *Manager) drainReplicas(ctx context.Context, inst *instance, gone []sandbox.Sandbox) {
	deadline := time.Now().Add(m.cfg.DrainTimeout)
	for inst.inFlight(gone) > 0 {
		if time.Now().After(deadline) {
			m.say(ctx, inst, logs.Run, fmt.Sprintf("scaling down: stopping with %s still open after %s", requests(inst.inFlight(gone)), m.cfg.DrainTimeout))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ReadyReplicas counts deployment id's replicas ready and routed to on
// this server.
func (m *Manager) ReadyReplicas(id string) int {
	m.mu.Lock()
	inst := m.instances[id]
	m.mu.Unlock()
	if inst == nil {
		return 0
	}
	return inst.ready()
}

// ready counts the replicas routed to that have not exited.
func (inst *instance) ready() int {
	inst.rmu.RLock()
	defer inst.rmu.RUnlock()
	n := 0
	for _, sb := range inst.replicas {
		if !exited(sb) {
			n++
		}
	}
	return n
}
