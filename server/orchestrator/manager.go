// Package orchestrator owns the deployment lifecycle: a persisted state
// machine (PENDING → PROVISIONING → BUILDING → RUNNING, STOPPED, FAILED,
// DESTROYED) whose every transition acts on real sandboxes, a supervisor
// that restarts crashed apps with back-off, and a reconciler that brings
// what runs back in line with the database when the server starts.
package orchestrator

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coderunner/coderunner/server/autoscale"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/source"
)

// Config tunes the orchestrator.
type Config struct {
	// Node names this server among servers sharing one database; it runs
	// and reconciles only the deployments it created.
	Node string
	// DataDir holds sources, deployments' app and data dirs, and caches.
	DataDir string
	// AppsDomain and PublicPort make deployment URLs:
	// http://<slug>.<AppsDomain>:<PublicPort>/.
	AppsDomain string
	PublicPort int
	// Limits are the default per-replica limits.
	Limits sandbox.Limits
	// DiskQuotaBytes caps what a deployment's app and data dirs hold; a
	// running deployment over it is stopped and FAILED. 0 means no cap.
	DiskQuotaBytes int64
	// SourceLimits bound one deployment's source.
	SourceLimits source.Limits
	// BuildTimeout fails a build that takes longer.
	BuildTimeout time.Duration
	// ReadyTimeout fails an app that does not accept connections in time.
	ReadyTimeout time.Duration
	// StopGrace is how long a stopped app gets between SIGTERM and SIGKILL.
	StopGrace time.Duration
	// Secrets gives deployments' secret values, for their replicas'
	// environment and to mask them in logs; nil means none.
	Secrets SecretSource
	// Attachments gives what is attached to deployments (databases):
	// variables and forwarded ports for their replicas; nil means none.
	Attachments AttachmentSource
	// Metrics receives build and deploy durations; nil records nothing.
	Metrics *metrics.Platform
	// CrashBackoff is the first restart delay after a crash; it doubles
	// with each crash in the window, up to five minutes.
	CrashBackoff time.Duration
	// DrainTimeout is how long a redeploy lets the previous revision's
	// replicas answer the requests the router sent them before it routed
	// to the new ones. They are stopped as soon as those are answered (an
	// app that gets SIGTERM may drop its connections); a request still
	// open after it, such as a WebSocket or an event stream, is cut.
	DrainTimeout time.Duration
	// ReplicaQuota caps each deployment's replicas, fixed or autoscaled;
	// 0 means 10.
	ReplicaQuota int
	// MaxHeldRequests bounds the requests held for one deployment while
	// it wakes; 0 means 1,000.
	MaxHeldRequests int
	// WarmWake keeps a sleeping deployment's sandbox prepared, so that a
	// wake costs only the app's own start (see warmReplica); it needs a
	// driver that is a sandbox.Preparer.
	WarmWake bool
	// MaxDeploymentsPerUser caps a user's deployments (destroyed ones do
	// not count).
	MaxDeploymentsPerUser int
	// KeepReleases is how many of a deployment's latest releases keep
	// their source and build for a rollback; 0 means 10.
	KeepReleases int
	// SelfBinary is the path of the running coderunner binary; the
	// manifest runtime runs it inside sandboxes.
	SelfBinary string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Crash policy: restart with exponential back-off from Config.CrashBackoff
// up to crashBackoffMax; crashLoopCount crashes within crashLoopWindow mark
// the deployment FAILED.
const (
	crashBackoffMax = 5 * time.Minute
	crashLoopCount  = 5
	crashLoopWindow = 10 * time.Minute
)

// Manager runs deployments.
type Manager struct {
	store   Store
	driver  sandbox.Driver
	logs    *logs.Service
	sources *source.Store
	cfg     Config
	logger  *slog.Logger

	watchers watchers

	// selfOnce copies SelfBinary into the data dir, where the sandbox uid
	// can reach it, the first time a manifest deployment starts.
	selfOnce sync.Once
	selfErr  error

	// pins keeps a stored source from removal between its Put and the
	// row that names it (sources.go).
	pins sourcePins
	// mounts counts the runs that mount each cached node_modules dir, so
	// collectModules keeps them.
	mounts moduleMounts

	// closed is set once Close begins.
	closed atomic.Bool

	mu        sync.Mutex
	instances map[string]*instance // by deployment id
	bySlug    map[string]*instance
}

// New returns a Manager. Call Start to reconcile and Close to stop every
// app on shutdown.
func New(st Store, driver sandbox.Driver, logSvc *logs.Service, cfg Config, logger *slog.Logger) (*Manager, error) {
	sources, err := source.NewStore(filepath.Join(cfg.DataDir, "sources"))
	if err != nil {
		return nil, err
	}
	return &Manager{
		store:     st,
		driver:    driver,
		logs:      logSvc,
		sources:   sources,
		cfg:       cfg,
		logger:    logger,
		instances: map[string]*instance{},
		bySlug:    map[string]*instance{},
	}, nil
}

func (m *Manager) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// instance is the in-memory side of one deployment: the operation (deploy
// and supervision goroutine) that owns its sandboxes.
type instance struct {
	// afterHandover is what replaceRunningThen hands the replacement it
	// starts (under mu).
	afterHandover func(served bool)

	id      string
	slug    string
	ownerID string
	runtime string
	// mu serialises lifecycle actions on the deployment.
	mu sync.Mutex
	// op, cancel and done belong to the current operation; nil when none
	// runs.
	op     *operation
	cancel context.CancelFunc
	done   chan struct{}

	// rmu guards replicas, which the router reads on every request.
	rmu      sync.RWMutex
	replicas []sandbox.Sandbox
	next     int
	// limits (per replica) and since (when the run became ready) describe
	// the current run, for metrics; guarded by rmu.
	limits sandbox.Limits
	since  time.Time
	// inflight counts, per replica, the router's requests it is answering,
	// so that a redeploy lets the previous revision finish them. The map
	// is guarded by rmu; the counters are atomic.
	inflight map[sandbox.Sandbox]*atomic.Int64

	// starts numbers the runs this server has started (see startReplica).
	starts atomic.Int64
	// restarts counts crash restarts since the deployment was created;
	// oomKills counts replicas killed for memory since this server started.
	restarts atomic.Int64
	oomKills atomic.Int64
	// masker masks the secrets of the latest operation, for lines written
	// outside an operation.
	masker atomic.Pointer[secrets.Masker]
	// desired is the replica count Scale asked for, which the current
	// operation's supervision follows.
	desired atomic.Int64
	// policy is the deployment's autoscaling policy; nil when none.
	policy atomic.Pointer[autoscale.Policy]
	// waking is the wake under way, for requests to an IDLE deployment
	// (under mu); coldStarts the last wakes.
	waking     *Wake
	coldStarts coldStartLog
	// warm is the sandbox prepared for the next wake while the deployment
	// sleeps (under mu; see warmReplica).
	warm *warmReplica
}

func (m *Manager) instanceFor(d *Deployment) *instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, ok := m.instances[d.ID]
	if !ok {
		inst = &instance{id: d.ID, slug: d.Slug, ownerID: d.OwnerID, runtime: d.Runtime}
		inst.restarts.Store(int64(d.RestartCount))
		inst.desired.Store(int64(max(d.Replicas, 1)))
		inst.policy.Store(d.Autoscale)
		m.instances[d.ID] = inst
		m.bySlug[d.Slug] = inst
	}
	return inst
}

func (m *Manager) forget(inst *instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.instances, inst.id)
	delete(m.bySlug, inst.slug)
}

// halt cancels the instance's operation and waits until it has stopped its
// sandboxes. The caller holds inst.mu.
func (inst *instance) halt() {
	if inst.cancel == nil {
		return
	}
	inst.cancel()
	<-inst.done
	inst.op, inst.cancel, inst.done = nil, nil, nil
}

// detach takes the instance's operation away from it without stopping it,
// for an action that starts new replicas while the old ones serve; from
// now on it writes no status (see operation). The caller holds inst.mu.
func (inst *instance) detach() *previousOperation {
	previous := &previousOperation{op: inst.op, cancel: inst.cancel, done: inst.done, unpin: func() {}}
	inst.op, inst.cancel, inst.done = nil, nil, nil
	if previous.op != nil {
		previous.op.detach()
	}
	return previous
}

// resume makes a detached operation the instance's again, as it was
// before detach. The caller holds inst.mu.
func (inst *instance) resume(previous *previousOperation) {
	if previous.op != nil {
		previous.op.reattach()
	}
	inst.op, inst.cancel, inst.done = previous.op, previous.cancel, previous.done
}

// launch starts an operation for the instance. The caller holds inst.mu.
func (m *Manager) launch(inst *instance, op func(ctx context.Context)) {
	m.launchWith(inst, nil, op)
}

// launchWith is launch, with warm (if not nil) for the operation's first
// replica; the operation discards it if it does not use it.
func (m *Manager) launchWith(inst *instance, warm *warmReplica, op func(ctx context.Context)) {
	o := newOperation()
	o.warm = warm
	ctx, cancel := context.WithCancel(withOperation(context.Background(), o))
	done := make(chan struct{})
	inst.op, inst.cancel, inst.done = o, cancel, done
	go func() {
		defer close(done)
		defer o.settle()
		defer func() {
			if w := takeWarm(ctx); w != nil {
				w.discard()
			}
		}()
		op(ctx)
	}()
}

// setReplicas routes to replicas from now on and returns those it routed
// to before.
func (inst *instance) setReplicas(replicas []sandbox.Sandbox) (previous []sandbox.Sandbox) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	previous, inst.replicas = inst.replicas, replicas
	return previous
}

// addReplica routes to sb too, a replica scaling added.
func (inst *instance) addReplica(sb sandbox.Sandbox) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	inst.replicas = append(slices.Clone(inst.replicas), sb)
}

// unroute stops routing new requests to gone but keeps counting the ones
// they are answering, for a drain; removeReplicas forgets them after.
func (inst *instance) unroute(gone []sandbox.Sandbox) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	var kept []sandbox.Sandbox
	for _, sb := range inst.replicas {
		if !slices.Contains(gone, sb) {
			kept = append(kept, sb)
		}
	}
	inst.replicas = kept
}

// removeReplicas takes gone out of the routed replicas; others stay (a
// redeploy routes to the new revision before the old one stops). With
// none left, the run has ended.
func (inst *instance) removeReplicas(gone []sandbox.Sandbox) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	var kept []sandbox.Sandbox
	for _, sb := range inst.replicas {
		if !slices.Contains(gone, sb) {
			kept = append(kept, sb)
		}
	}
	inst.replicas = kept
	if kept == nil {
		inst.since = time.Time{}
	}
	for _, sb := range gone {
		delete(inst.inflight, sb)
	}
}

// replaceReplica routes to next instead of previous, a replica restarted
// after a crash. If previous is no longer routed (a newer revision has
// taken over), nothing changes.
func (inst *instance) replaceReplica(previous, next sandbox.Sandbox) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	for j, sb := range inst.replicas {
		if sb == previous {
			replicas := slices.Clone(inst.replicas)
			replicas[j] = next
			inst.replicas = replicas
			delete(inst.inflight, previous)
			return
		}
	}
}

// setRun records that a run with limits became ready now.
func (inst *instance) setRun(limits sandbox.Limits, since time.Time) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	inst.limits, inst.since = limits, since
}

// pick returns a running replica, round robin, or nil. The replica's
// in-flight counter is incremented; the caller decrements it when the
// request is answered.
func (inst *instance) pick() (sandbox.Sandbox, *atomic.Int64) {
	inst.rmu.Lock()
	defer inst.rmu.Unlock()
	for range inst.replicas {
		sb := inst.replicas[inst.next%len(inst.replicas)]
		inst.next++
		if exited(sb) {
			continue
		}
		n := inst.inflight[sb]
		if n == nil {
			if inst.inflight == nil {
				inst.inflight = map[sandbox.Sandbox]*atomic.Int64{}
			}
			n = new(atomic.Int64)
			inst.inflight[sb] = n
		}
		n.Add(1)
		return sb, n
	}
	return nil, nil
}

// inFlight returns how many requests the router has sent to replicas and
// not yet seen answered. Counting happens in pick, under the same lock
// that setReplicas takes, so once a redeploy has routed to its new
// replicas no request can still be on its way to the old ones uncounted.
func (inst *instance) inFlight(replicas []sandbox.Sandbox) int64 {
	inst.rmu.RLock()
	defer inst.rmu.RUnlock()
	var n int64
	for _, sb := range replicas {
		if c := inst.inflight[sb]; c != nil {
			n += c.Load()
		}
	}
	return n
}

// Close stops every app (their statuses stay as they are, so the next start
// reconciles them back up).
func (m *Manager) Close() {
	m.mu.Lock()
	instances := make([]*instance, 0, len(m.instances))
	for _, inst := range m.instances {
		instances = append(instances, inst)
	}
	m.mu.Unlock()
	m.closed.Store(true) // no sandbox is prepared from now on
	var wg sync.WaitGroup
	for _, inst := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst.mu.Lock()
			defer inst.mu.Unlock()
			inst.halt()
			inst.discardWarm()
		}()
	}
	wg.Wait()
	if err := m.driver.Close(); err != nil {
		m.logger.Warn("closing the sandbox driver", "error", err)
	}
}
