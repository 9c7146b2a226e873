package orchestrator

import (
	"context"
	"sync/atomic"
)

// operation is one run of a deployment's pipeline (build, start,
// supervise), as launch starts it. A redeploy of a running deployment
// detaches the running operation: it keeps serving and supervising the
// old revision until the new one has taken over, but from that moment the
// deployment's status belongs to the new operation. A detached operation
// therefore records what happens to its replicas (a crash, a restart, a
// failure) only in the log.
type operation struct {
	detached atomic.Bool
}

type operationKey struct{}

func withOperation(ctx context.Context, op *operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// detached reports whether the operation running under ctx was detached
// by a redeploy.
func detached(ctx context.Context) bool {
	op, _ := ctx.Value(operationKey{}).(*operation)
	return op != nil && op.detached.Load()
}

// previousRevision is how a detached operation's log lines begin.
const previousRevision = "previous revision: "

// running records that the deployment runs, with reason, unless the
// operation under ctx is detached.
func (m *Manager) running(ctx context.Context, inst *instance, reason string) error {
	if detached(ctx) {
		return nil
	}
	_, err := m.transition(ctx, inst.id, StatusRunning, reason)
	return err
}
