package orchestrator

import (
	"fmt"

	"github.com/coderunner/coderunner/server/autoscale"
	"github.com/coderunner/coderunner/server/errs"
)

// replicaQuota is the most replicas one deployment may run.
func (m *Manager) replicaQuota() int {
	if m.cfg.ReplicaQuota > 0 {
		return m.cfg.ReplicaQuota
	}
	return 10
}

// checkReplicas refuses a fixed count over the quota.
func (m *Manager) checkReplicas(n int) error {
	if q := m.replicaQuota(); n > q {
		return errs.Field(errs.KindResourceExhausted, "replicas", "%d replicas is over the quota of %d per deployment", n, q)
	}
	return nil
}

// resolvePolicy fills p from its template and the defaults and checks it
// against the quota; replicasGiven says the same request sets replicas.
func (m *Manager) resolvePolicy(p *autoscale.Policy, replicasGiven bool) (*autoscale.Policy, error) {
	if replicasGiven {
		return nil, errs.Field(errs.KindInvalidArgument, "replicas", "give replicas or an autoscale policy, not both: with a policy, CodeRunner sets replicas")
	}
	resolved, err := p.Resolve(m.replicaQuota())
	if err != nil {
		return nil, err
	}
	return &resolved, nil
}

// applyPolicy sets (p non-nil) or removes d's policy and brings d's count
// within its bounds; it returns the event's words.
func applyPolicy(d *Deployment, p *autoscale.Policy) string {
	d.Autoscale = p
	if p == nil {
		return fmt.Sprintf("autoscaling off: %d replicas, set by owner", d.Replicas)
	}
	d.Replicas = min(max(d.Replicas, p.Floor()), p.MaxReplicas)
	return fmt.Sprintf("autoscaling on: %s replicas", p.Bounds())
}

// Autoscaled is a deployment under a policy that this server runs, for
// the autoscale controller.
type Autoscaled struct {
	DeploymentID string
	OwnerID      string
	Policy       autoscale.Policy
	// Replicas is the count asked for; Ready those routed to now.
	Replicas, Ready int
}

// Autoscaled lists the running deployments this server holds that have
// a policy.
func (m *Manager) Autoscaled() []Autoscaled {
	m.mu.Lock()
	instances := make([]*instance, 0, len(m.instances))
	for _, inst := range m.instances {
		if inst.policy.Load() != nil {
			instances = append(instances, inst)
		}
	}
	m.mu.Unlock()
	var out []Autoscaled
	for _, inst := range instances {
		p := inst.policy.Load()
		ready := inst.ready()
		if p == nil || ready == 0 {
			continue // not running: nothing to measure
		}
		out = append(out, Autoscaled{DeploymentID: inst.id, OwnerID: inst.ownerID, Policy: *p,
			Replicas: int(inst.desired.Load()), Ready: ready})
	}
	return out
}
