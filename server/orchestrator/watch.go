package orchestrator

import "sync"

// Change is a recorded status change with the deployment as it was right
// after it.
type Change struct {
	Event      Event
	Deployment Deployment
}

// Watcher receives status changes of one owner's deployments (or of one
// deployment). Its buffer is bounded: a watcher that falls behind is cut
// off (C is closed and Overflowed reports true), never slowing the
// orchestrator.
type Watcher struct {
	C            chan Change
	ownerID      string
	deploymentID string // empty: every deployment of the owner
	overflowed   bool
}

// Overflowed reports whether the watcher was cut off for falling behind;
// read it after C is closed.
func (w *Watcher) Overflowed() bool { return w.overflowed }

const watcherBuffer = 256

type watchers struct {
	mu   sync.Mutex
	subs map[*Watcher]struct{}
}

// Watch starts delivering changes of ownerID's deployment deploymentID (or
// all of ownerID's deployments when it is empty). Call Unwatch when done.
func (m *Manager) Watch(ownerID, deploymentID string) *Watcher {
	w := &Watcher{C: make(chan Change, watcherBuffer), ownerID: ownerID, deploymentID: deploymentID}
	m.watchers.mu.Lock()
	defer m.watchers.mu.Unlock()
	if m.watchers.subs == nil {
		m.watchers.subs = map[*Watcher]struct{}{}
	}
	m.watchers.subs[w] = struct{}{}
	return w
}

// Unwatch stops w; its channel is closed if it was not already.
func (m *Manager) Unwatch(w *Watcher) {
	m.watchers.mu.Lock()
	defer m.watchers.mu.Unlock()
	if _, ok := m.watchers.subs[w]; ok {
		delete(m.watchers.subs, w)
		close(w.C)
	}
}

func (m *Manager) publish(c Change) {
	m.watchers.mu.Lock()
	defer m.watchers.mu.Unlock()
	for w := range m.watchers.subs {
		if w.ownerID != c.Deployment.OwnerID || (w.deploymentID != "" && w.deploymentID != c.Deployment.ID) {
			continue
		}
		select {
		case w.C <- c:
		default:
			w.overflowed = true
			delete(m.watchers.subs, w)
			close(w.C)
		}
	}
}
