package logs

import "sync"

// subscription receives a deployment's new lines, in seq order, in batches.
// Its buffer is bounded: a subscriber that falls behind is cut off (C is
// closed and Overflowed reports true) instead of slowing anyone else.
type subscription struct {
	C          chan []Line
	overflowed bool // written under broker.mu before C is closed
	id         string
}

// Overflowed reports whether the subscription was cut off for falling
// behind; read it after C is closed.
func (s *subscription) Overflowed() bool { return s.overflowed }

type broker struct {
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{}
}

func newBroker() *broker {
	return &broker{subs: map[string]map[*subscription]struct{}{}}
}

// subscriberBuffer is how many batches a follower may lag behind.
const subscriberBuffer = 1024

func (b *broker) subscribe(deploymentID string) *subscription {
	s := &subscription{C: make(chan []Line, subscriberBuffer), id: deploymentID}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[deploymentID] == nil {
		b.subs[deploymentID] = map[*subscription]struct{}{}
	}
	b.subs[deploymentID][s] = struct{}{}
	return s
}

// unsubscribe removes s; C is closed (if it was not already).
func (b *broker) unsubscribe(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s.id][s]; ok {
		delete(b.subs[s.id], s)
		close(s.C)
	}
	if len(b.subs[s.id]) == 0 {
		delete(b.subs, s.id)
	}
}

// publish hands batch to every subscriber of its deployment without
// blocking; batch must not be modified afterwards.
func (b *broker) publish(deploymentID string, batch []Line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[deploymentID] {
		select {
		case s.C <- batch:
		default:
			s.overflowed = true
			delete(b.subs[deploymentID], s)
			close(s.C)
		}
	}
}

func (b *broker) hasSubscribers(deploymentID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[deploymentID]) > 0
}
