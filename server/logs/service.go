package logs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// Options tunes a Service.
type Options struct {
	// RetainLines and RetainBytes bound what is kept per deployment; the
	// oldest lines beyond either are trimmed.
	RetainLines int
	RetainBytes int64
	// QueueLines is how many lines a deployment may have waiting to be
	// stored; beyond it lines are dropped (and the drop is logged).
	QueueLines int
	Logger     *slog.Logger
}

// Service stores and streams log lines.
type Service struct {
	db     *bun.DB
	opts   Options
	broker *broker
	sqlite sqliteInserter

	// mu guards writers; appending takes only the read lock, once per batch.
	mu      sync.RWMutex
	writers map[string]*writer
	wg      sync.WaitGroup
	closed  bool

	// ingested and dropped count lines since the server started, for
	// metrics.
	ingested atomic.Int64
	dropped  atomic.Int64
}

// New returns a Service on db.
func New(db *bun.DB, opts Options) *Service {
	if opts.RetainLines <= 0 {
		opts.RetainLines = 50_000
	}
	if opts.RetainBytes <= 0 {
		opts.RetainBytes = 50 << 20
	}
	if opts.QueueLines <= 0 {
		opts.QueueLines = 16_384
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{db: db, opts: opts, broker: newBroker(), writers: map[string]*writer{}}
}

// Append queues a line for deploymentID. It never blocks: when the queue
// is full the line is dropped and counted, and the writer logs the count.
func (s *Service) Append(deploymentID string, stream Stream, phase Phase, replica int, text string, truncated bool) {
	s.AppendBatch(deploymentID, stream, phase, replica, []Captured{{Text: text, Truncated: truncated}})
}

// Captured is one line of a process's output.
type Captured struct {
	Text      string
	Truncated bool
}

// AppendBatch queues lines read together from one stream, stamped with one
// time. Like Append it never blocks. Once the queue is full the rest of the
// batch is dropped and counted at once: an app printing flat out costs the
// server one clock read and one lookup per read, not per line.
func (s *Service) AppendBatch(deploymentID string, stream Stream, phase Phase, replica int, lines []Captured) {
	w := s.writer(deploymentID)
	if w == nil || len(lines) == 0 {
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range lines {
		select {
		case w.in <- Line{DeploymentID: deploymentID, Time: now, Stream: stream, Phase: phase, Replica: replica, Text: lines[i].Text, Truncated: lines[i].Truncated}:
		default:
			dropped := int64(len(lines) - i)
			w.dropped.Add(dropped)
			s.dropped.Add(dropped)
			s.ingested.Add(int64(i))
			return
		}
	}
	s.ingested.Add(int64(len(lines)))
}

// Totals returns the lines accepted and dropped since the service started.
func (s *Service) Totals() (ingested, dropped int64) {
	return s.ingested.Load(), s.dropped.Load()
}

func (s *Service) writer(deploymentID string) *writer {
	s.mu.RLock()
	w, ok := s.writers[deploymentID]
	closed := s.closed
	s.mu.RUnlock()
	if ok || closed {
		if closed {
			return nil
		}
		return w
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	w, ok = s.writers[deploymentID]
	if !ok {
		w = newWriter(s, deploymentID)
		s.writers[deploymentID] = w
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run()
		}()
	}
	return w
}

// Flush waits until every line appended for deploymentID so far is stored
// and published.
func (s *Service) Flush(ctx context.Context, deploymentID string) error {
	w := s.writer(deploymentID)
	if w == nil {
		return nil
	}
	done := make(chan struct{})
	select {
	case w.flush <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stores what is queued and stops every writer.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	for _, w := range s.writers {
		close(w.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.sqlite.close()
}

// Forget stops the writer of a deleted deployment. Its stored lines stay,
// within the retention limits, as part of its history (deployment rows
// are kept too).
func (s *Service) Forget(deploymentID string) {
	s.mu.Lock()
	w, ok := s.writers[deploymentID]
	delete(s.writers, deploymentID)
	s.mu.Unlock()
	if ok {
		close(w.stop)
		<-w.done
	}
}

// Query returns stored lines of deploymentID matching f with seq >
// afterSeq, oldest first, at most limit. With tail > 0 it returns the last
// tail matching lines instead.
func (s *Service) Query(ctx context.Context, deploymentID string, f Filter, afterSeq int64, tail, limit int) ([]Line, error) {
	var lines []Line
	q := s.db.NewSelect().Model(&lines).Where("deployment_id = ?", deploymentID)
	if len(f.Streams) > 0 {
		q = q.Where("stream IN (?)", bun.List(f.Streams))
	}
	if len(f.Phases) > 0 {
		q = q.Where("phase IN (?)", bun.List(f.Phases))
	}
	if f.Contains != "" {
		// instr/strpos instead of LIKE: the text is matched literally,
		// case-sensitively, with no wildcard escaping to get wrong.
		if s.db.Dialect().Name().String() == "pg" {
			q = q.Where("strpos(text, ?) > 0", f.Contains)
		} else {
			q = q.Where("instr(text, ?) > 0", f.Contains)
		}
	}
	if tail > 0 {
		if err := q.Order("seq DESC").Limit(int64(tail)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("query logs: %w", err)
		}
		for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
			lines[i], lines[j] = lines[j], lines[i]
		}
		return lines, nil
	}
	if err := q.Where("seq > ?", afterSeq).Order("seq ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("query logs: %w", err)
	}
	return lines, nil
}
