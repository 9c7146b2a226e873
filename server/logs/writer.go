package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch bounds one insert: 4,000 rows × 8 columns stays under SQLite's
// 32,766 bound parameters.
const maxBatch = 4000

// trimSlack is how far past a limit a deployment may go before a trim
// runs, so trims are occasional deletes of many rows, not one per batch.
const (
	trimSlackLines = 2000
	trimSlackBytes = 1 << 20
)

// writer stores one deployment's lines in order. It is the only place seq
// numbers are assigned, so they increase by exactly one per line.
type writer struct {
	s       *Service
	id      string
	in      chan Line
	flush   chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Int64

	nextSeq  int64 // 0 until loaded from the database
	trimming atomic.Bool
	// kept is the retained state, updated by store and by finished trims.
	keptMu sync.Mutex
	kept   retained
}

func newWriter(s *Service, id string) *writer {
	return &writer{
		s:     s,
		id:    id,
		in:    make(chan Line, s.opts.QueueLines),
		flush: make(chan chan struct{}),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]Line, 0, maxBatch)
	for {
		var flushed chan struct{}
		select {
		case l := <-w.in:
			batch = append(batch, l)
		case flushed = <-w.flush:
		case <-w.stop:
			// Store what is queued (and the count of what was not), then end.
			for {
				batch = w.noteDrops(w.drain(batch))
				if len(batch) == 0 {
					return
				}
				w.store(batch)
				batch = batch[:0]
			}
		}
		// Take whatever else is already queued: under load batches grow,
		// idle lines go out alone and at once.
		batch = w.noteDrops(w.drain(batch))
		if len(batch) > 0 {
			w.store(batch)
			batch = batch[:0]
		}
		if flushed != nil {
			close(flushed)
		}
	}
}

// noteDrops appends a system line counting the lines dropped since the
// last note, so a gap is never silent.
func (w *writer) noteDrops(batch []Line) []Line {
	if n := w.dropped.Swap(0); n > 0 {
		batch = append(batch, Line{
			DeploymentID: w.id, Time: time.Now().UTC().Truncate(time.Microsecond), Stream: System, Phase: Run,
			Text: fmt.Sprintf("[coderunner] %d lines dropped: the app printed faster than they could be stored", n),
		})
	}
	return batch
}

func (w *writer) drain(batch []Line) []Line {
	for len(batch) < maxBatch {
		select {
		case l := <-w.in:
			batch = append(batch, l)
		default:
			return batch
		}
	}
	return batch
}

// store numbers, inserts and publishes a batch. A batch that cannot be
// stored is still published (live followers see it) and its loss is logged.
func (w *writer) store(batch []Line) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if w.nextSeq == 0 {
		var max sql.NullInt64
		err := w.s.db.NewSelect().Model((*Line)(nil)).ColumnExpr("MAX(seq)").Where("deployment_id = ?", w.id).Scan(ctx, &max)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			w.s.opts.Logger.Error("read last log seq", "deployment", w.id, "error", err)
		}
		w.nextSeq = max.Int64 + 1
		kept, err := w.s.loadRetained(ctx, w.id)
		if err != nil {
			w.s.opts.Logger.Error("read retained logs", "deployment", w.id, "error", err)
		}
		w.keptMu.Lock()
		w.kept = kept
		w.keptMu.Unlock()
	}
	out := make([]Line, len(batch))
	copy(out, batch)
	for i := range out {
		out[i].Seq = w.nextSeq
		w.nextSeq++
	}
	if err := w.s.insert(ctx, out); err != nil {
		w.s.opts.Logger.Error("store log lines", "deployment", w.id, "lines", len(out), "error", err)
	}
	w.s.broker.publish(w.id, out)
	w.notify(ctx, out[0].Seq, out[len(out)-1].Seq)
	w.keptMu.Lock()
	for i := range out {
		w.kept.bytes += int64(len(out[i].Text))
	}
	if w.kept.oldest == 0 {
		w.kept.oldest = out[0].Seq
	}
	w.kept.next = w.nextSeq
	over := w.overLocked()
	w.keptMu.Unlock()
	if over && w.trimming.CompareAndSwap(false, true) {
		w.s.wg.Add(1)
		go func() {
			defer w.s.wg.Done()
			defer w.trimming.Store(false)
			w.trim()
		}()
	}
}

// overLocked reports whether the deployment keeps more than its limits plus
// the slack; keptMu is held.
func (w *writer) overLocked() bool {
	return w.kept.next-w.kept.oldest > int64(w.s.opts.RetainLines+trimSlackLines) ||
		w.kept.bytes > w.s.opts.RetainBytes+trimSlackBytes
}

// trim trims until the deployment is within its limits plus the slack. It
// repeats because the writer goes on storing while a trim runs (on SQLite
// a trim may wait for the write lock behind many batches), and stores made
// meanwhile do not start another trim.
func (w *writer) trim() {
	for {
		w.keptMu.Lock()
		next, bytes := w.kept.next, w.kept.bytes
		w.keptMu.Unlock()
		oldest, freed, err := w.s.trim(context.Background(), w.id, next, bytes)
		if err != nil {
			w.s.opts.Logger.Error("trim logs", "deployment", w.id, "error", err)
			return
		}
		w.keptMu.Lock()
		w.kept.bytes -= freed
		w.kept.oldest = max(w.kept.oldest, oldest)
		over := w.overLocked()
		w.keptMu.Unlock()
		if !over || oldest == 0 {
			// Within limits, or nothing left to delete (the newest lines
			// alone exceed the byte limit): the next store tries again.
			return
		}
	}
}
