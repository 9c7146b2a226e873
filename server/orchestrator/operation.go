package orchestrator

import (
	"context"
	"sync"
)

// operation is one run of a deployment's pipeline (build, start,
// supervise), as launch starts it. A redeploy, restart or configuration
// change of a running deployment detaches the running operation: it keeps
// serving and supervising its replicas until the new operation's have
// taken over, but from that moment the deployment's status belongs to the
// new operation. A detached operation therefore records what happens to
// its replicas (a crash, a restart, a failure) only in the log.
type operation struct {
	detachOnce sync.Once
	detachedCh chan struct{} // closed by detach
	settleOnce sync.Once
	settledCh  chan struct{} // closed by settle
}

func newOperation() *operation {
	return &operation{detachedCh: make(chan struct{}), settledCh: make(chan struct{})}
}

func (op *operation) detach() { op.detachOnce.Do(func() { close(op.detachedCh) }) }

// settle marks that the operation has nothing more to put in place: its
// replicas run from the app dir (or it has ended). A redeploy's handover
// moves its build into the app dir before it settles, so the operation
// that replaces it waits for that.
func (op *operation) settle() { op.settleOnce.Do(func() { close(op.settledCh) }) }

type operationKey struct{}

func withOperation(ctx context.Context, op *operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationOf(ctx context.Context) *operation {
	op, _ := ctx.Value(operationKey{}).(*operation)
	return op
}

// detachedSignal is closed once the operation running under ctx is
// detached; nil (never ready) outside an operation.
func detachedSignal(ctx context.Context) <-chan struct{} {
	if op := operationOf(ctx); op != nil {
		return op.detachedCh
	}
	return nil
}

// detached reports whether the operation running under ctx was detached.
func detached(ctx context.Context) bool {
	select {
	case <-detachedSignal(ctx):
		return true
	default:
		return false
	}
}

// settled marks the operation running under ctx as settled.
func settled(ctx context.Context) {
	if op := operationOf(ctx); op != nil {
		op.settle()
	}
}

// previousOperation is a detached operation, for the operation replacing
// it: stop ends it (once; later calls do nothing) and waits until its
// sandboxes are stopped; settled is closed once it has put its build in
// place.
type previousOperation struct {
	stop    func()
	settled <-chan struct{}
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
