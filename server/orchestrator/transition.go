package orchestrator

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// transition moves deployment id to status with a reason, persisting the
// row and an event in one transaction. It returns the updated row.
func (m *Manager) transition(ctx context.Context, id string, status Status, reason string, mutate ...func(*Deployment)) (*Deployment, error) {
	ctx = context.WithoutCancel(ctx) // a transition that began must be recorded
	d := new(Deployment)
	var event *Event
	err := m.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
			return fmt.Errorf("load deployment: %w", err)
		}
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
		if _, err := tx.NewUpdate().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update deployment: %w", err)
		}
		event = &Event{
			ID:             uuid.Must(uuid.NewV7()).String(),
			DeploymentID:   id,
			Status:         status,
			PreviousStatus: previous,
			Reason:         reason,
			CreatedAt:      now,
		}
		if _, err := tx.NewInsert().Model(event).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return nil
	})
	if err != nil {
		m.logger.Error("record status change", "deployment", id, "status", status, "error", err)
		return nil, err
	}
	m.logger.Info("deployment status", "deployment", id, "status", status, "reason", reason)
	m.publish(Change{Event: *event, Deployment: *d})
	m.announce(ctx, event.ID)
	return d, nil
}

// countRestart adds a crash restart to the deployment's count and returns
// the new count. It increments in the database rather than writing a
// count kept in memory: during a replacement two operations (the serving
// one and the new one) may count restarts of the same deployment.
func (m *Manager) countRestart(ctx context.Context, id string) (int, error) {
	ctx = context.WithoutCancel(ctx)
	var n int
	err := m.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*Deployment)(nil)).
			Set("restart_count = restart_count + 1").Set("updated_at = ?", m.now()).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return tx.NewSelect().Model((*Deployment)(nil)).Column("restart_count").Where("id = ?", id).Scan(ctx, &n)
	})
	return n, err
}

// update persists changes to a deployment without a status change.
func (m *Manager) update(ctx context.Context, d *Deployment, columns ...string) error {
	d.UpdatedAt = m.now()
	_, err := m.db.NewUpdate().Model(d).Column(append(columns, "updated_at")...).WherePK().Exec(context.WithoutCancel(ctx))
	return err
}
