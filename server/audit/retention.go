package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Prune deletes the events older than the retention period and returns
// how many it deleted.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	res, err := s.db.NewDelete().Model((*Event)(nil)).Where("time < ?", s.now().Add(-s.retention)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// pruneInterval is how often RunRetention prunes.
const pruneInterval = time.Hour

// RunRetention prunes at once and then every hour until ctx ends.
func (s *Service) RunRetention(ctx context.Context, logger *slog.Logger) {
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	for {
		if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("audit log retention", "error", err)
		} else if n > 0 {
			logger.Info("audit log pruned", "events", n, "retention", s.retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
