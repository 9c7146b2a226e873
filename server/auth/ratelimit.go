package auth

import (
	"sync"
	"time"
)

// failureLimiter counts failed logins per key (an email or a client address)
// in a sliding window. It is in memory: each server replica limits on its
// own, which bounds guessing per replica.
type failureLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
	calls    int
}

func newFailureLimiter(max int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: now, failures: map[string][]time.Time{}}
}

// retryAfter returns how long until every key is below the limit again, or
// zero if none is at the limit.
func (l *failureLimiter) retryAfter(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, key := range keys {
		recent := l.recentLocked(key, now)
		if len(recent) >= l.max {
			// The oldest failure that keeps the key at the limit must expire.
			if w := recent[len(recent)-l.max].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

// fail records one failure for each key.
func (l *failureLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, key := range keys {
		l.failures[key] = append(l.recentLocked(key, now), now)
	}
	l.calls++
	if l.calls%1024 == 0 {
		l.sweepLocked(now)
	}
}

// reset forgets the failures of key (after a successful login).
func (l *failureLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *failureLimiter) recentLocked(key string, now time.Time) []time.Time {
	times := l.failures[key]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= l.window {
		i++
	}
	if i == len(times) {
		delete(l.failures, key)
		return nil
	}
	times = times[i:]
	l.failures[key] = times
	return times
}

// sweepLocked drops keys whose failures have all expired, so memory stays
// bounded by the number of keys active within one window.
func (l *failureLimiter) sweepLocked(now time.Time) {
	for key := range l.failures {
		l.recentLocked(key, now)
	}
}
