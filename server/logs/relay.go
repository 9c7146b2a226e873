package logs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// NotifyChannel is the PostgreSQL channel a writer announces stored
// batches on, so servers sharing the database can relay them to their own
// followers.
const NotifyChannel = "coderunner_logs"

// notify announces a stored batch: "<deployment> <first seq> <last seq>".
func (w *writer) notify(ctx context.Context, first, last int64) {
	if w.s.db.Dialect().Name().String() != "pg" {
		return
	}
	payload := fmt.Sprintf("%s %d %d", w.id, first, last)
	if _, err := w.s.db.ExecContext(ctx, "SELECT pg_notify(?, ?)", NotifyChannel, payload); err != nil {
		w.s.opts.Logger.Warn("announce log lines", "deployment", w.id, "error", err)
	}
}

// Relay handles an announcement from another server: when this server has
// followers of the deployment and does not write its lines itself, it
// reads the announced lines from the database and publishes them. Followers
// skip seqs they already have, so overlap is harmless.
func (s *Service) Relay(ctx context.Context, payload string) {
	fields := strings.Fields(payload)
	if len(fields) != 3 {
		return
	}
	id := fields[0]
	first, err1 := strconv.ParseInt(fields[1], 10, 64)
	last, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	s.mu.RLock()
	_, local := s.writers[id]
	s.mu.RUnlock()
	if local || !s.broker.hasSubscribers(id) {
		return
	}
	lines, err := s.Query(ctx, id, Filter{}, first-1, 0, int(last-first+1))
	if err != nil {
		s.opts.Logger.Warn("relay log lines", "deployment", id, "error", err)
		return
	}
	if len(lines) > 0 {
		s.broker.publish(id, lines)
	}
}
