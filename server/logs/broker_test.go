package logs

import (
	"testing"
	"time"
)

// The send gap grows with the followers of the same deployment, from
// minSendGap for one to maxSendGap, and shrinks again as they leave.
func TestSendGapFollowsSubscriberCount(t *testing.T) {
	b := newBroker()
	first := b.subscribe("d1")
	other := b.subscribe("d2") // another deployment's follower does not count
	if got := first.sendGap(); got != minSendGap+sendGapPerFollower {
		t.Fatalf("one follower: gap %v, want %v", got, minSendGap+sendGapPerFollower)
	}
	var many []*subscription
	for range 99 {
		many = append(many, b.subscribe("d1"))
	}
	if got, want := first.sendGap(), minSendGap+100*sendGapPerFollower; got != want {
		t.Fatalf("100 followers: gap %v, want %v", got, want)
	}
	for range 900 {
		many = append(many, b.subscribe("d1"))
	}
	if got := first.sendGap(); got != maxSendGap {
		t.Fatalf("1,000 followers: gap %v, want the cap %v", got, maxSendGap)
	}
	for _, s := range many {
		b.unsubscribe(s)
	}
	if got := first.sendGap(); got != minSendGap+sendGapPerFollower {
		t.Fatalf("after 999 left: gap %v, want %v", got, minSendGap+sendGapPerFollower)
	}
	if got := other.sendGap(); got > 4*time.Millisecond {
		t.Fatalf("d2's single follower: gap %v", got)
	}
	// An overflowing follower is removed from the count too.
	b.publish("d2", nil)
	for range subscriberBuffer {
		b.publish("d2", nil)
	}
	if !other.Overflowed() || other.topic.followers.Load() != 0 || b.hasSubscribers("d2") {
		t.Fatalf("overflowed follower still counted: overflowed=%v followers=%d", other.Overflowed(), other.topic.followers.Load())
	}
}
