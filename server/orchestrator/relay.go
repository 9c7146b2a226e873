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
	if err := m.store.Announce(context.WithoutCancel(ctx), m.cfg.Node+" "+eventID); err != nil {
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
	event, err := m.store.Event(ctx, eventID)
	if err != nil {
		m.logger.Warn("relay status change", "event", eventID, "error", err)
		return
	}
	d, err := m.store.Get(ctx, event.DeploymentID)
	if err != nil {
		m.logger.Warn("relay status change", "event", eventID, "error", fmt.Errorf("load deployment: %w", err))
		return
	}
	c := Change{Event: *event, Deployment: *d}
	// The row may have moved on since; the change shows the status the
	// event recorded.
	c.Deployment.Status, c.Deployment.StatusReason = c.Event.Status, c.Event.Reason
	m.publish(c)
}
