package deploymentrpc

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func filterFromProto(streams []coderunnerv1.LogStream, phases []coderunnerv1.LogPhase, contains string) logs.Filter {
	f := logs.Filter{Contains: contains}
	for _, s := range streams {
		f.Streams = append(f.Streams, logs.Stream(s))
	}
	for _, p := range phases {
		f.Phases = append(f.Phases, logs.Phase(p))
	}
	return f
}

func lineToProto(l *logs.Line) *coderunnerv1.LogEntry {
	return &coderunnerv1.LogEntry{
		Seq:       l.Seq,
		Time:      timestamppb.New(l.Time),
		Stream:    coderunnerv1.LogStream(l.Stream),
		Phase:     coderunnerv1.LogPhase(l.Phase),
		Text:      l.Text,
		Replica:   int32(l.Replica),
		Truncated: l.Truncated,
	}
}

func isFinal(s orchestrator.Status) bool {
	return s == orchestrator.StatusStopped || s == orchestrator.StatusFailed || s == orchestrator.StatusDestroyed
}

// watchKeepalive is how often an idle watch sends an empty message, so
// proxies keep the stream open.
const watchKeepalive = 15 * time.Second

// StreamLogs implements DeploymentService.StreamLogs.
func (h *Handler) StreamLogs(ctx context.Context, req *connect.Request[coderunnerv1.StreamLogsRequest], stream *connect.ServerStream[coderunnerv1.StreamLogsResponse]) error {
	d, err := h.manager.Get(ctx, owner(ctx), req.Msg.GetDeploymentId())
	if err != nil {
		return h.fail(ctx, err)
	}
	// The deployment ending (stopped, failed, deleted) ends a follow, after
	// its last lines, with a final message naming the status.
	ended := make(chan struct{})
	var final orchestrator.Status
	if req.Msg.GetFollow() {
		w := h.manager.Watch(d.OwnerID, d.ID)
		defer h.manager.Unwatch(w)
		go func() {
			for c := range w.C {
				if isFinal(c.Event.Status) {
					final = c.Event.Status
					close(ended)
					return
				}
			}
		}()
	}
	err = h.logs.Follow(ctx, logs.FollowRequest{
		DeploymentID: d.ID,
		Filter:       filterFromProto(req.Msg.GetStreams(), req.Msg.GetPhases(), req.Msg.GetContains()),
		AfterSeq:     req.Msg.GetAfterSeq(),
		Tail:         int(req.Msg.GetTail()),
		Follow:       req.Msg.GetFollow(),
		Ended:        ended,
	}, func(lines []logs.Line) error {
		res := &coderunnerv1.StreamLogsResponse{Entries: make([]*coderunnerv1.LogEntry, len(lines))}
		for i := range lines {
			res.Entries[i] = lineToProto(&lines[i])
		}
		return stream.Send(res)
	})
	if errors.Is(err, logs.ErrBehind) {
		return connect.NewError(connect.CodeResourceExhausted, err)
	}
	if err != nil {
		return h.fail(ctx, err)
	}
	select {
	case <-ended:
		return stream.Send(&coderunnerv1.StreamLogsResponse{FinalStatus: protoconv.StatusToProto(final)})
	default:
		return nil
	}
}

// GetLogs implements DeploymentService.GetLogs.
func (h *Handler) GetLogs(ctx context.Context, req *connect.Request[coderunnerv1.GetLogsRequest]) (*connect.Response[coderunnerv1.GetLogsResponse], error) {
	d, err := h.manager.Get(ctx, owner(ctx), req.Msg.GetDeploymentId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	limit := int(req.Msg.GetLimit())
	if limit == 0 {
		limit = 1000
	}
	lines, err := h.logs.Query(ctx, d.ID, filterFromProto(req.Msg.GetStreams(), req.Msg.GetPhases(), req.Msg.GetContains()), req.Msg.GetAfterSeq(), 0, limit+1)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	res := &coderunnerv1.GetLogsResponse{HasMore: len(lines) > limit}
	if res.HasMore {
		lines = lines[:limit]
	}
	for i := range lines {
		res.Entries = append(res.Entries, lineToProto(&lines[i]))
	}
	return connect.NewResponse(res), nil
}

// WatchDeployment implements DeploymentService.WatchDeployment.
func (h *Handler) WatchDeployment(ctx context.Context, req *connect.Request[coderunnerv1.WatchDeploymentRequest], stream *connect.ServerStream[coderunnerv1.WatchDeploymentResponse]) error {
	id := req.Msg.GetId()
	if _, err := h.manager.Get(ctx, owner(ctx), id); err != nil {
		return h.fail(ctx, err)
	}
	return h.watch(ctx, id, func(ev *coderunnerv1.DeploymentEvent) error {
		return stream.Send(&coderunnerv1.WatchDeploymentResponse{Event: ev})
	})
}

// WatchDeployments implements DeploymentService.WatchDeployments.
func (h *Handler) WatchDeployments(ctx context.Context, _ *connect.Request[coderunnerv1.WatchDeploymentsRequest], stream *connect.ServerStream[coderunnerv1.WatchDeploymentsResponse]) error {
	return h.watch(ctx, "", func(ev *coderunnerv1.DeploymentEvent) error {
		return stream.Send(&coderunnerv1.WatchDeploymentsResponse{Event: ev})
	})
}

// watch sends the current state of the caller's deployment id (or of all
// their deployments) and then every change. Subscribing before reading the
// current state means no change is missed in between; a change already
// reflected in the state may arrive once more, which is harmless.
func (h *Handler) watch(ctx context.Context, id string, send func(*coderunnerv1.DeploymentEvent) error) error {
	ownerID := owner(ctx)
	w := h.manager.Watch(ownerID, id)
	defer h.manager.Unwatch(w)

	var current []orchestrator.Deployment
	if id != "" {
		d, err := h.manager.Get(ctx, ownerID, id)
		if err != nil {
			return h.fail(ctx, err)
		}
		current = append(current, *d)
	} else {
		for offset := 0; ; {
			page, _, next, err := h.manager.List(ctx, ownerID, orchestrator.ListFilter{}, offset, 100)
			if err != nil {
				return h.fail(ctx, err)
			}
			current = append(current, page...)
			if next == 0 {
				break
			}
			offset = next
		}
	}
	if len(current) == 0 {
		// Nothing to report yet: a keepalive sends the response headers, so
		// the client knows the stream is open.
		if err := send(nil); err != nil {
			return err
		}
	}
	keepalive := time.NewTicker(watchKeepalive)
	defer keepalive.Stop()
	for i := range current {
		d := &current[i]
		if err := send(&coderunnerv1.DeploymentEvent{
			Deployment: h.deploymentToProto(d),
			Status:     protoconv.StatusToProto(d.Status),
			Reason:     d.StatusReason,
			Time:       timestamppb.New(d.UpdatedAt),
		}); err != nil {
			return err
		}
		if id != "" && d.Status == orchestrator.StatusDestroyed {
			return nil
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keepalive.C:
			if err := send(nil); err != nil {
				return err
			}
		case c, ok := <-w.C:
			if !ok {
				if w.Overflowed() {
					return connect.NewError(connect.CodeResourceExhausted, errors.New("the watch fell behind; reconnect"))
				}
				return nil
			}
			if err := send(h.eventToProto(&c.Event, &c.Deployment)); err != nil {
				return err
			}
			if id != "" && c.Event.Status == orchestrator.StatusDestroyed {
				return nil
			}
		}
	}
}
