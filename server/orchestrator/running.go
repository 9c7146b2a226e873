package orchestrator

import (
	"time"

	"github.com/coderunner/coderunner/server/sandbox"
)

// Running describes a deployment this server holds an instance of, for the
// metrics sampler.
type Running struct {
	DeploymentID string
	OwnerID      string
	Runtime      string
	// Replicas are the sandboxes of the current run; nil when it is not
	// running. A replica that crashed may have ended and not yet been
	// replaced.
	Replicas []sandbox.Sandbox
	// Desired is the replica count asked for (by the owner or the
	// autoscale policy), which Replicas follow as scaling proceeds; 0 when
	// it is not running.
	Desired int
	// Limits are per replica.
	Limits sandbox.Limits
	// Since is when the current run became ready; zero when not running.
	Since time.Time
	// Restarts counts crash restarts since the deployment was created.
	Restarts int64
	// OOMKills counts replicas killed for exceeding their memory limit
	// since this server started.
	OOMKills int64
}

// Running lists the deployments this server has an instance of: running
// ones with their replicas, and stopped or failed ones it has run since it
// started (with no replicas).
func (m *Manager) Running() []Running {
	m.mu.Lock()
	instances := make([]*instance, 0, len(m.instances))
	for _, inst := range m.instances {
		instances = append(instances, inst)
	}
	m.mu.Unlock()
	out := make([]Running, 0, len(instances))
	for _, inst := range instances {
		inst.rmu.RLock()
		r := Running{
			DeploymentID: inst.id,
			OwnerID:      inst.ownerID,
			Runtime:      inst.runtime,
			Replicas:     append([]sandbox.Sandbox(nil), inst.replicas...),
			Desired:      int(inst.desired.Load()),
			Limits:       inst.limits,
			Since:        inst.since,
			Restarts:     inst.restarts.Load(),
			OOMKills:     inst.oomKills.Load(),
		}
		inst.rmu.RUnlock()
		if len(r.Replicas) == 0 {
			r.Replicas, r.Desired, r.Since = nil, 0, time.Time{}
		}
		out = append(out, r)
	}
	return out
}
