package logs

import (
	"sync"
	"sync/atomic"
	"time"
)

// subscription receives a deployment's new lines, in seq order, in batches.
// Its buffer is bounded: a subscriber that falls behind is cut off (C is
// closed and Overflowed reports true) instead of slowing anyone else.
type subscription struct {
	C          chan []Line
	overflowed bool // written under broker.mu before C is closed
	topic      *topic
	id         string
}

// Overflowed reports whether the subscription was cut off for falling
// behind; read it after C is closed.
func (s *subscription) Overflowed() bool { return s.overflowed }

// sendGap is the least time between two live messages to this follower.
// One follower sends at once after a short gap, so a line reaches it in
// milliseconds. Hundreds of followers of the same deployment each wait a
// little longer and send fewer, larger messages: every message costs an
// encode, a frame and a write per follower, and with hundreds of followers
// those, not the lines, are what queues up.
func (s *subscription) sendGap() time.Duration {
	n := time.Duration(s.topic.followers.Load())
	return min(minSendGap+n*sendGapPerFollower, maxSendGap)
}

const (
	minSendGap         = 3 * time.Millisecond
	sendGapPerFollower = 30 * time.Microsecond
	maxSendGap         = 20 * time.Millisecond
)

// topic is one deployment's subscribers.
type topic struct {
	subs      map[*subscription]struct{}
	followers atomic.Int32 // len(subs), readable without the broker's lock
}

type broker struct {
	mu     sync.Mutex
	topics map[string]*topic
}

func newBroker() *broker {
	return &broker{topics: map[string]*topic{}}
}

// subscriberBuffer is how many batches a follower may lag behind.
const subscriberBuffer = 1024

func (b *broker) subscribe(deploymentID string) *subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[deploymentID]
	if t == nil {
		t = &topic{subs: map[*subscription]struct{}{}}
		b.topics[deploymentID] = t
	}
	s := &subscription{C: make(chan []Line, subscriberBuffer), topic: t, id: deploymentID}
	t.subs[s] = struct{}{}
	t.followers.Add(1)
	return s
}

// unsubscribe removes s; C is closed (if it was not already).
func (b *broker) unsubscribe(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(s)
}

// remove drops s from its topic and closes C; b.mu is held.
func (b *broker) remove(s *subscription) {
	t := s.topic
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	t.followers.Add(-1)
	close(s.C)
	if len(t.subs) == 0 && b.topics[s.id] == t {
		delete(b.topics, s.id)
	}
}

// publish hands batch to every subscriber of its deployment without
// blocking; batch must not be modified afterwards.
func (b *broker) publish(deploymentID string, batch []Line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[deploymentID]
	if t == nil {
		return
	}
	for s := range t.subs {
		select {
		case s.C <- batch:
		default:
			s.overflowed = true
			b.remove(s)
		}
	}
}

func (b *broker) hasSubscribers(deploymentID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics[deploymentID] != nil
}
