package orchestrator

import (
	"context"

	"github.com/google/uuid"
)

// transition moves deployment id to status with a reason, persisting the
// row and an event in one transaction. It returns the updated row.
func (m *Manager) transition(ctx context.Context, id string, status Status, reason string, mutate ...func(*Deployment)) (*Deployment, error) {
	return m.transitionReleasing(ctx, id, status, reason, nil, mutate...)
}

// transitionReleasing is transition that also records draft, when not
// nil, as the deployment's next release, once mutate has run.
func (m *Manager) transitionReleasing(ctx context.Context, id string, status Status, reason string, draft *releaseDraft, mutate ...func(*Deployment)) (*Deployment, error) {
	ctx = context.WithoutCancel(ctx) // a transition that began must be recorded
	var event *Event
	change := func(d *Deployment) (*Event, *Release) {
		event = m.changeStatus(d, status, reason, mutate)
		if draft == nil {
			return event, nil
		}
		return event, draft.stamp(d, event.CreatedAt)
	}
	var d *Deployment
	var err error
	if draft != nil && draft.prepare != nil {
		err = m.store.InTx(ctx, func(ctx context.Context) error {
			if err := draft.prepare(ctx); err != nil {
				return err
			}
			d, err = m.store.Transition(ctx, id, change)
			return err
		})
	} else {
		d, err = m.store.Transition(ctx, id, change)
	}
	if err != nil {
		m.logger.Error("record status change", "deployment", id, "status", status, "error", err)
		return nil, err
	}
	m.logger.Info("deployment status", "deployment", id, "status", status, "reason", reason)
	m.publish(Change{Event: *event, Deployment: *d})
	m.announce(ctx, event.ID)
	return d, nil
}

// changeStatus gives d status and reason, runs mutate on it and returns
// the event that records the change.
func (m *Manager) changeStatus(d *Deployment, status Status, reason string, mutate []func(*Deployment)) *Event {
	previous := d.Status
	now := m.now()
	d.Status, d.StatusReason, d.UpdatedAt = status, reason, now
	d.ReplacementFailed = false
	// A run starts at its first RUNNING; a replica restarted after a
	// crash (RUNNING again) continues it. Any other status, including
	// the PENDING a start, restart, redeploy or reconcile begins with,
	// ends it.
	if status != StatusRunning {
		d.StartedAt = nil
	} else if d.StartedAt == nil {
		d.StartedAt = &now
	}
	for _, f := range mutate {
		f(d)
	}
	return &Event{
		ID:             uuid.Must(uuid.NewV7()).String(),
		DeploymentID:   d.ID,
		Status:         status,
		PreviousStatus: previous,
		Reason:         reason,
		CreatedAt:      now,
	}
}

// countRestart adds a crash restart to the deployment's count and returns
// the new count.
func (m *Manager) countRestart(ctx context.Context, id string) (int, error) {
	return m.store.CountRestart(context.WithoutCancel(ctx), id, m.now())
}

// update persists changes to a deployment without a status change and,
// when draft is not nil, records it as the deployment's next release.
func (m *Manager) update(ctx context.Context, d *Deployment, draft *releaseDraft, columns ...string) error {
	d.UpdatedAt = m.now()
	var release *Release
	if draft != nil {
		release = draft.stamp(d, d.UpdatedAt)
	}
	return m.store.Update(context.WithoutCancel(ctx), d, release, columns...)
}
