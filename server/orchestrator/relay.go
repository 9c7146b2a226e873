package orchestrator

import (
	"context"
	"fmt"
	"strings"
)

// EventsChannel is the PostgreSQL channel status changes are announced on,
// so servers sharing the database can pass them to their own watchers.
const EventsChannel = "coderunner_events"

// announce tells other servers about a recorded event: "<node> <event id>".
func (m *Manager) announce(ctx context.Context, eventID string) {
	if m.db.Dialect().Name().String() != "pg" {
		return
	}
	if _, err := m.db.ExecContext(context.WithoutCancel(ctx), "SELECT pg_notify(?, ?)", EventsChannel, m.cfg.Node+" "+eventID); err != nil {
		m.logger.Warn("announce status change", "event", eventID, "error", err)
	}
}

// RelayEvent handles another server's announcement: it loads the event and
// the deployment and hands them to this server's watchers.
func (m *Manager) RelayEvent(ctx context.Context, payload string) {
	node, eventID, ok := strings.Cut(payload, " ")
	if !ok || node == m.cfg.Node {
		return
	}
	var c Change
	if err := m.db.NewSelect().Model(&c.Event).Where("id = ?", eventID).Scan(ctx); err != nil {
		m.logger.Warn("relay status change", "event", eventID, "error", err)
		return
	}
	if err := m.db.NewSelect().Model(&c.Deployment).Where("id = ?", c.Event.DeploymentID).Scan(ctx); err != nil {
		m.logger.Warn("relay status change", "event", eventID, "error", fmt.Errorf("load deployment: %w", err))
		return
	}
	// The row may have moved on since; the change shows the status the
	// event recorded.
	c.Deployment.Status, c.Deployment.StatusReason = c.Event.Status, c.Event.Reason
	m.publish(c)
}
