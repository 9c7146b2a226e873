package logs

import (
	"context"
	"errors"
	"time"
)

// ErrBehind ends a follow whose subscriber could not keep up. The client
// resumes with after_seq = the last seq it received.
var ErrBehind = errors.New("the stream fell behind the log; reconnect with after_seq set to the last seq received")

// keepaliveInterval is how often an idle follow sends an empty batch, so
// proxies do not cut the stream.
const keepaliveInterval = 15 * time.Second

// maxMerged caps how many live lines one message carries.
const maxMerged = 4000

// replayPage is how many stored lines one replay query reads.
const replayPage = 2000

// FollowRequest says what to replay and whether to continue live.
type FollowRequest struct {
	DeploymentID string
	Filter       Filter
	AfterSeq     int64
	Tail         int
	Follow       bool
	// Ended, when it yields, ends a follow after the lines stored so far
	// (the deployment stopped, failed or was deleted).
	Ended <-chan struct{}
}

// Follow sends stored lines and then, with Follow, live ones, each exactly
// once, in seq order, through send (an empty batch is a keepalive). It
// subscribes before reading the database, so a line written while the
// replay query runs arrives through the subscription, and seq numbers
// already sent are skipped: no gap, no duplicate at the seam.
func (s *Service) Follow(ctx context.Context, req FollowRequest, send func([]Line) error) error {
	var sub *subscription
	if req.Follow {
		sub = s.broker.subscribe(req.DeploymentID)
		defer s.broker.unsubscribe(sub)
	}
	last, err := s.replay(ctx, req, send)
	if err != nil {
		return err
	}
	if !req.Follow {
		return nil
	}
	if last == req.AfterSeq || last == -1 {
		// Nothing replayed: an empty batch now sends the response headers,
		// so the client knows the stream is open before the first line.
		if err := send(nil); err != nil {
			return err
		}
	}
	// With tail and no stored match, "last" must still exclude lines that
	// were stored before the query; the subscription only holds lines
	// published after it began, all newer than anything queried.
	return s.live(ctx, req, sub, last, send)
}

// replay sends the stored lines req asks for: the last Tail of them, or
// all after AfterSeq a page at a time. It returns the seq of the last line
// sent, AfterSeq when there was none, or -1 when a tail matched nothing.
func (s *Service) replay(ctx context.Context, req FollowRequest, send func([]Line) error) (int64, error) {
	if req.Tail > 0 {
		lines, err := s.Query(ctx, req.DeploymentID, req.Filter, 0, req.Tail, 0)
		if err != nil {
			return 0, err
		}
		if len(lines) == 0 {
			return -1, nil // nothing matched: everything live is new
		}
		if err := send(lines); err != nil {
			return 0, err
		}
		return lines[len(lines)-1].Seq, nil
	}
	last := req.AfterSeq
	for {
		lines, err := s.Query(ctx, req.DeploymentID, req.Filter, last, 0, replayPage)
		if err != nil {
			return 0, err
		}
		if len(lines) > 0 {
			if err := send(lines); err != nil {
				return 0, err
			}
			last = lines[len(lines)-1].Seq
		}
		if len(lines) < replayPage {
			return last, nil
		}
	}
}

// live sends the lines sub delivers after last until ctx ends, the
// deployment ends or sub is cut off, with a keepalive when idle.
func (s *Service) live(ctx context.Context, req FollowRequest, sub *subscription, last int64, send func([]Line) error) error {
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	var lastSend time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-req.Ended:
			return s.sendRest(ctx, req, sub, last, send)
		case <-keepalive.C:
			if err := send(nil); err != nil {
				return err
			}
		case batch, ok := <-sub.C:
			if !ok {
				if sub.Overflowed() {
					return ErrBehind
				}
				return nil
			}
			// Under a steady stream, wait until the send gap has passed
			// since the last send: lines then go out in fewer, larger
			// messages, which is what lets hundreds of followers keep up
			// (see sendGap). An idle follower sends at once.
			if wait := sub.sendGap() - time.Since(lastSend); wait > 0 {
				time.Sleep(wait)
			}
			var out []Line
			out, last = mergeWaiting(sub, batch, last, req.Filter)
			if len(out) == 0 {
				continue
			}
			if err := send(out); err != nil {
				return err
			}
			lastSend = time.Now()
			keepalive.Reset(keepaliveInterval)
		}
	}
}

// mergeWaiting returns the lines of batch, and of the batches already
// waiting in sub until maxMerged are gathered, that are newer than last and
// match f, with the seq of the last of them. A follower that lags a little
// so catches up in fewer, larger sends instead of falling further behind.
func mergeWaiting(sub *subscription, batch []Line, last int64, f Filter) ([]Line, int64) {
	out := make([]Line, 0, len(batch))
	for {
		for i := range batch {
			if batch[i].Seq > last && f.Match(&batch[i]) {
				out = append(out, batch[i])
				last = batch[i].Seq
			}
		}
		if len(out) >= maxMerged {
			return out, last
		}
		select {
		case next, ok := <-sub.C:
			if ok {
				batch = next
				continue
			}
		default:
		}
		return out, last
	}
}

// sendRest sends what the deployment wrote up to its end: it flushes the
// deployment's queue and sends the lines already waiting in sub, then
// stops.
func (s *Service) sendRest(ctx context.Context, req FollowRequest, sub *subscription, last int64, send func([]Line) error) error {
	_ = s.Flush(ctx, req.DeploymentID)
	for {
		select {
		case batch, ok := <-sub.C:
			if !ok {
				return nil
			}
			out := make([]Line, 0, len(batch))
			for i := range batch {
				if batch[i].Seq > last && req.Filter.Match(&batch[i]) {
					out = append(out, batch[i])
				}
			}
			if len(out) > 0 {
				if err := send(out); err != nil {
					return err
				}
				last = out[len(out)-1].Seq
			}
		default:
			return nil
		}
	}
}
