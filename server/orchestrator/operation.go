package orchestrator

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/coderunner/coderunner/server/secrets"
)

// operation is one run of a deployment's pipeline (build, start,
// supervise), as launch starts it. A redeploy, restart or configuration
// change of a running deployment detaches the running operation: it keeps
// serving and supervising its replicas until the new operation's have
// taken over, but from that moment the deployment's status belongs to the
// new operation. A detached operation therefore records what happens to
// its replicas (a crash, a restart, a failure) only in the log. If the
// new operation fails before it serves, the detached one is attached
// again and goes on serving (see keepPrevious).
type operation struct {
	detached   atomic.Bool
	detachOnce sync.Once
	detachedCh chan struct{} // closed by the first detach
	settleOnce sync.Once
	settledCh  chan struct{} // closed by settle
	// recent holds the operation's last log lines, for its failure
	// reasons: a replacement's reason quotes its own revision's output,
	// not the output of the revision still serving beside it.
	recent *recentLines
	// fallback, set by replace, is what fail calls before recording
	// FAILED; it returns true if the previous revision serves on instead.
	// Only the operation's own goroutine uses it.
	fallback func(reason string) bool
	// env is the environment the operation's replicas get, the
	// deployment's configuration over its project's as the operation
	// began; masker masks every secret value in it in its lines. A
	// replacement has its own, so the revision still serving keeps
	// masking the values it was started with.
	env    []string
	masker *secrets.Masker
	// forwards are the ports on its replicas' 127.0.0.1 carried to the
	// services attached to the deployment as the operation began.
	forwards []Forward
	// rescaled tells the operation's supervision that the desired replica
	// count changed (Scale); buffered, one pending signal is enough.
	rescaled chan struct{}
	// warm is the sandbox prepared while the deployment slept, for the
	// operation's first replica (a wake's); nil once taken.
	warm *warmReplica
}

func newOperation() *operation {
	return &operation{detachedCh: make(chan struct{}), settledCh: make(chan struct{}), recent: newRecentLines(200),
		rescaled: make(chan struct{}, 1)}
}

func (op *operation) detach() {
	op.detached.Store(true)
	op.detachOnce.Do(func() { close(op.detachedCh) })
}

func (op *operation) reattach() { op.detached.Store(false) }

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

// recentOf returns the recent lines of the operation under ctx; nil (which
// keeps nothing) outside an operation.
func recentOf(ctx context.Context) *recentLines {
	if op := operationOf(ctx); op != nil {
		return op.recent
	}
	return nil
}

// detachedSignal is closed once the operation running under ctx is
// detached; nil (never ready) outside an operation.
func detachedSignal(ctx context.Context) <-chan struct{} {
	if op := operationOf(ctx); op != nil {
		return op.detachedCh
	}
	return nil
}

// detached reports whether the operation running under ctx is detached.
func detached(ctx context.Context) bool {
	op := operationOf(ctx)
	return op != nil && op.detached.Load()
}

// settled marks the operation running under ctx as settled.
func settled(ctx context.Context) {
	if op := operationOf(ctx); op != nil {
		op.settle()
	}
}

// previousOperation is a detached operation, for the operation replacing
// it. op, cancel and done are nil when no operation ran.
type previousOperation struct {
	op       *operation
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	// digest, revision and release are what the previous operation runs; its
	// source stays pinned (kept in the store) until unpin. nextDigest is
	// the source that replaces it.
	digest, nextDigest string
	revision, release  int64
	unpin              func()
	// then, when set, learns how the handover ended: true once the
	// replacement serves and this operation has stopped, false when it
	// serves on (see Manager.ReconfigureThen).
	then func(served bool)
}

// stop ends the previous operation (once; later calls do nothing) and
// waits until it has stopped its sandboxes.
func (p *previousOperation) stop() {
	if p.op != nil {
		p.stopOnce.Do(func() {
			p.cancel()
			<-p.done
		})
	}
}

// settled is closed once the previous operation has put its build in
// place (see operation.settle).
func (p *previousOperation) settled() <-chan struct{} {
	if p.op == nil {
		return closed
	}
	return p.op.settledCh
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// running reports whether the previous operation still runs (a crash loop
// may have ended it).
func (p *previousOperation) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// previousRevision is how a detached operation's log lines begin.
const previousRevision = "previous revision: "

// recordRunning records that the deployment runs, with reason, unless
// the operation under ctx is detached.
func (m *Manager) recordRunning(ctx context.Context, inst *instance, reason string) error {
	if detached(ctx) {
		return nil
	}
	_, err := m.transition(ctx, inst.id, StatusRunning, reason)
	return err
}
