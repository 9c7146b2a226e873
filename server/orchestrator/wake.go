package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/logs"
)

// Sleep stops an idle deployment under a min-0 autoscale policy and
// marks it IDLE; the next request to its URL wakes it (Wake). The status
// changes first, so a request that arrives while its replicas stop is
// held for the wake rather than refused; those already sent finish.
func (m *Manager) Sleep(ctx context.Context, ownerID, id string, idleFor time.Duration) (*Deployment, error) {
	return m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if d.Status != StatusRunning || d.Autoscale == nil || d.Autoscale.MinReplicas != 0 {
			return nil, errs.New(errs.KindFailedPrecondition, "deployment %q cannot sleep: it is %s and its policy does not allow 0 replicas", d.Name, d.Status)
		}
		reason := fmt.Sprintf("asleep: no request for %s; the next one wakes it", idleFor.Round(time.Second))
		d, err := m.transition(ctx, d.ID, StatusIdle, reason, func(d *Deployment) { d.StartedAt = nil })
		if err != nil {
			return nil, err
		}
		inst.rmu.RLock()
		routed := slices.Clone(inst.replicas)
		inst.rmu.RUnlock()
		inst.unroute(routed)
		m.drainReplicas(ctx, inst, routed)
		inst.halt()
		m.say(ctx, inst, logs.Run, reason)
		return d, nil
	})
}

// Wake is a wake in progress: the requests that arrive for a deployment
// while it starts wait on it.
type Wake struct {
	began time.Time
	limit int64
	done  chan struct{}
	err   error // set before done closes
	// waiting counts the requests holding now; held all that were held.
	waiting, held atomic.Int64
}

// Done is closed once the deployment serves or cannot.
func (w *Wake) Done() <-chan struct{} { return w.done }

// Err says why the wake failed, in words for a 503 page; nil once it
// serves. Read after Done.
func (w *Wake) Err() error { return w.err }

// Began is when the first request arrived.
func (w *Wake) Began() time.Time { return w.began }

// Hold counts a request as waiting; false when the bound on waiting
// requests (Config.MaxHeldRequests) is reached. Call release when it
// stops waiting.
func (w *Wake) Hold() (release func(), ok bool) {
	if w.waiting.Add(1) > w.limit {
		w.waiting.Add(-1)
		return nil, false
	}
	w.held.Add(1)
	return func() { w.waiting.Add(-1) }, true
}

// ColdStart is one wake as ListDeploymentMetrics shows it.
type ColdStart struct {
	At   time.Time
	Took time.Duration
	Held int
	// Err is why it failed; empty when it woke.
	Err string
}

// coldStartsKept is how many wakes each deployment remembers.
const coldStartsKept = 20

// Wake starts idle deployment d for a request, from its kept build.
// Requests that arrive while it starts share the one wake; it returns nil
// when d is not idle and no wake is under way (the caller shows its
// status).
func (m *Manager) Wake(ctx context.Context, d *Deployment) (*Wake, error) {
	if d.Status != StatusIdle && !d.Status.inProgress() {
		return nil, nil // stopped, failed, deleted: nothing to wake or wait for
	}
	inst := m.instanceFor(d)
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if w := inst.waking; w != nil {
		return w, nil
	}
	d, err := m.Get(ctx, d.OwnerID, d.ID) // under the lock: an action may have just run
	if err != nil || d.Status != StatusIdle || (d.Node != "" && d.Node != m.cfg.Node) {
		return nil, err
	}
	warm := inst.warm
	inst.warm = nil
	inst.halt()
	if _, err := m.transition(ctx, d.ID, StatusPending, "waking: a request arrived"); err != nil {
		if warm != nil {
			warm.discard()
		}
		return nil, err
	}
	limit := int64(m.cfg.MaxHeldRequests)
	if limit <= 0 {
		limit = 1000
	}
	w := &Wake{began: m.now(), limit: limit, done: make(chan struct{})}
	inst.waking = w
	m.launchWith(inst, warm, func(ctx context.Context) { m.operate(ctx, inst, false) })
	go m.watchWake(inst, w, inst.done)
	return w, nil
}

// watchWake ends w once inst serves, its operation ends without serving
// (it failed, or an action stopped or deleted it), or ReadyTimeout passes.
func (m *Manager) watchWake(inst *instance, w *Wake, opDone <-chan struct{}) {
	timeout := time.NewTimer(max(m.cfg.ReadyTimeout, time.Second))
	defer timeout.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	result := "woke"
wait:
	for !inst.serving() {
		select {
		case <-opDone:
			// An action that ended the operation (a stop, a delete) holds
			// mu until it has recorded its status.
			inst.mu.Lock()
			result, w.err = "failed", m.whyNotWoken(inst)
			inst.mu.Unlock()
			if strings.Contains(w.err.Error(), "stopped") || strings.Contains(w.err.Error(), "deleted") {
				result = "cancelled"
			}
			break wait
		case <-timeout.C:
			result, w.err = "failed", fmt.Errorf("it did not start within %s", max(m.cfg.ReadyTimeout, time.Second))
			break wait
		case <-tick.C:
		}
	}
	took := m.now().Sub(w.began)
	m.cfg.Metrics.ObserveColdStart(result, took)
	cs := ColdStart{At: w.began, Took: took, Held: int(w.held.Load())}
	if w.err != nil {
		cs.Err = w.err.Error()
	}
	inst.recordColdStart(cs)
	inst.mu.Lock()
	if inst.waking == w {
		inst.waking = nil
	}
	inst.mu.Unlock()
	close(w.done)
}

// whyNotWoken reads the deployment's status after its wake's operation
// ended without serving.
func (m *Manager) whyNotWoken(inst *instance) error {
	d, err := m.store.Get(context.Background(), inst.id)
	if err != nil {
		return fmt.Errorf("it could not start")
	}
	// The reason's first line and the app's last lines after it.
	lines := strings.Split(strings.TrimSpace(d.StatusReason), "\n")
	reason := strings.Join(lines[:min(len(lines), 4)], " ")
	switch d.Status {
	case StatusStopped:
		return fmt.Errorf("it was stopped while waking")
	case StatusDestroyed:
		return fmt.Errorf("it was deleted while waking")
	default:
		return fmt.Errorf("it could not start: %s", reason)
	}
}

// serving reports whether a replica is routed to and alive.
func (inst *instance) serving() bool { return inst.ready() > 0 }

// coldStartLog is an instance's last wakes, newest first.
type coldStartLog struct {
	mu   sync.Mutex
	list []ColdStart
}

func (inst *instance) recordColdStart(cs ColdStart) {
	inst.coldStarts.mu.Lock()
	defer inst.coldStarts.mu.Unlock()
	inst.coldStarts.list = append([]ColdStart{cs}, inst.coldStarts.list[:min(len(inst.coldStarts.list), coldStartsKept-1)]...)
}

// ColdStarts lists deployment id's last wakes on this server, newest
// first.
func (m *Manager) ColdStarts(id string) []ColdStart {
	m.mu.Lock()
	inst := m.instances[id]
	m.mu.Unlock()
	if inst == nil {
		return nil
	}
	inst.coldStarts.mu.Lock()
	defer inst.coldStarts.mu.Unlock()
	return append([]ColdStart(nil), inst.coldStarts.list...)
}
