package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Filter narrows a user's events; zero fields match everything.
type Filter struct {
	TargetType, TargetID string
	// Action matches the procedure ("/coderunner.v1.ConfigService/SetSecret")
	// or its method name alone ("SetSecret").
	Action   string
	From, To time.Time // From inclusive, To exclusive
}

func (f Filter) apply(q *bun.SelectQuery, userID string) *bun.SelectQuery {
	q = q.Where("user_id = ?", userID)
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Action != "" {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("action = ?", f.Action).WhereOr("action LIKE ?", "%/"+f.Action)
		})
	}
	if !f.From.IsZero() {
		q = q.Where("time >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("time < ?", f.To.UTC())
	}
	return q
}

// List returns up to limit of userID's events matching f, newest first,
// older than id before (0: from the newest), and the id to pass as before
// for the next page (0 on the last).
func (s *Service) List(ctx context.Context, userID string, f Filter, before int64, limit int) ([]Event, int64, error) {
	var list []Event
	q := f.apply(s.db.NewSelect().Model(&list), userID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Order("id DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}
	if len(list) <= limit {
		return list, 0, nil
	}
	list = list[:limit]
	return list, list[limit-1].ID, nil
}

// After returns up to limit of userID's events matching f with an id
// above after, oldest first.
func (s *Service) After(ctx context.Context, userID string, f Filter, after int64, limit int) ([]Event, error) {
	var list []Event
	err := f.apply(s.db.NewSelect().Model(&list), userID).Where("id > ?", after).
		Order("id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read audit events: %w", err)
	}
	return list, nil
}

// Latest returns the id of the newest event of all, 0 if there is none:
// a stream that starts now sends what comes after it.
func (s *Service) Latest(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.NewSelect().Model((*Event)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &id)
	return id, err
}
