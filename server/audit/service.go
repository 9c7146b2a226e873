package audit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// NotifyChannel is the PostgreSQL channel new events are announced on,
// so every server's StreamAuditEvents sees events other servers wrote.
const NotifyChannel = "coderunner_audit"

// DefaultRetention is how long events are kept unless configured.
const DefaultRetention = 90 * 24 * time.Hour

// Service stores and reads audit events.
type Service struct {
	db        *bun.DB
	now       func() time.Time
	retention time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when events are added
}

// New returns a Service on db keeping events for retention (0 means
// DefaultRetention).
func New(db *bun.DB, retention time.Duration, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Service{
		db: db, retention: retention, changed: make(chan struct{}),
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) },
	}
}

// auditLockKey is the PostgreSQL advisory lock event inserts take.
const auditLockKey = 0x61756474 // "audt"

// insert writes e in tx. On PostgreSQL it first takes a transaction-level
// advisory lock, held until tx ends: events then commit in id order, so a
// stream reading "id > last seen" never skips an event that commits late
// with a lower id. The lock is taken as the transaction's last step, so it
// is held only for the insert and the commit. SQLite serialises writers
// anyway.
func (s *Service) insert(ctx context.Context, tx bun.IDB, e *Event) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if store.IsPostgres(tx) {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", auditLockKey); err != nil {
			return fmt.Errorf("lock audit log: %w", err)
		}
	}
	if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("write audit event: %w", err)
	}
	if store.IsPostgres(tx) {
		// Delivered at commit, and not at all on rollback.
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", NotifyChannel, e.UserID); err != nil {
			return fmt.Errorf("announce audit event: %w", err)
		}
	}
	return nil
}

// Record writes e in a transaction of its own.
func (s *Service) Record(ctx context.Context, e *Event) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return s.insert(ctx, tx, e) })
	if err == nil {
		s.notify()
	}
	return err
}

// markFailed sets the code and message of event e.ID, reporting whether
// it exists.
func (s *Service) markFailed(ctx context.Context, e *Event) (bool, error) {
	res, err := s.db.NewUpdate().Model(e).Column("code", "message").WherePK().Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mark audit event failed: %w", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n > 0 {
		s.notify()
	}
	return n > 0, err
}

// notify wakes the streams of this server.
func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Relay wakes this server's streams for an event another server wrote
// (the NotifyChannel payload).
func (s *Service) Relay(string) { s.notify() }

// Changed returns a channel closed when events are next added.
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
