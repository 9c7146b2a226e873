// Package auditrpc is the AuditService's transport over audit, and the
// interceptor that audits every mutating call.
package auditrpc

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler implements AuditService.
type Handler struct {
	svc    *audit.Service
	logger *slog.Logger
}

var _ coderunnerv1connect.AuditServiceHandler = (*Handler)(nil)

// NewHandler returns the AuditService over svc.
func NewHandler(svc *audit.Service, logger *slog.Logger) *Handler {
	return &Handler{svc: svc, logger: logger}
}

func filterOf(f *coderunnerv1.AuditFilter) audit.Filter {
	out := audit.Filter{TargetType: f.GetTargetType(), TargetID: f.GetTargetId(), Action: f.GetAction()}
	if f.GetStartTime() != nil {
		out.From = f.GetStartTime().AsTime()
	}
	if f.GetEndTime() != nil {
		out.To = f.GetEndTime().AsTime()
	}
	return out
}

func toProto(e *audit.Event, actor string) *coderunnerv1.AuditEvent {
	return &coderunnerv1.AuditEvent{
		Id: e.ID, Time: timestamppb.New(e.Time), Action: e.Action,
		TargetType: e.TargetType, TargetId: e.TargetID, Actor: actor, TokenId: e.TokenID,
		ClientAddress: e.ClientAddr, Code: e.Code, Message: e.Message, Summary: e.Summary,
	}
}

// The page token is the id the next page starts below.
func pageToken(before int64) string {
	if before == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(before, 10)))
}

func parsePageToken(token string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n, convErr := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || convErr != nil || n <= 0 {
		return 0, errs.Field(errs.KindInvalidArgument, "page_token", "page_token is not one this server issued")
	}
	return n, nil
}

// ListAuditEvents implements AuditService.ListAuditEvents.
func (h *Handler) ListAuditEvents(ctx context.Context, req *connect.Request[coderunnerv1.ListAuditEventsRequest]) (*connect.Response[coderunnerv1.ListAuditEventsResponse], error) {
	p := auth.MustPrincipal(ctx)
	before, err := parsePageToken(req.Msg.GetPageToken())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	size := int(req.Msg.GetPageSize())
	if size == 0 {
		size = 50
	}
	list, next, err := h.svc.List(ctx, p.User.ID, filterOf(req.Msg.GetFilter()), before, size)
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	res := &coderunnerv1.ListAuditEventsResponse{NextPageToken: pageToken(next)}
	for i := range list {
		res.Events = append(res.Events, toProto(&list[i], p.User.Email))
	}
	return connect.NewResponse(res), nil
}

// resync bounds how long a stream trusts wake-ups alone: a PostgreSQL
// notification lost while the listener reconnected is made up for by
// reading again.
const resync = 5 * time.Second

// StreamAuditEvents implements AuditService.StreamAuditEvents.
func (h *Handler) StreamAuditEvents(ctx context.Context, req *connect.Request[coderunnerv1.StreamAuditEventsRequest], stream *connect.ServerStream[coderunnerv1.StreamAuditEventsResponse]) error {
	p := auth.MustPrincipal(ctx)
	filter := filterOf(req.Msg.GetFilter())
	after := req.Msg.GetAfterId()
	if after == 0 {
		latest, err := h.svc.Latest(ctx)
		if err != nil {
			return errs.ToConnect(ctx, h.logger, err)
		}
		after = latest
	}
	// Send the response headers now: clients (connect-go over HTTP/1.1,
	// fetch in browsers) wait for them, and the next event may be far off.
	if err := stream.Send(nil); err != nil {
		return nil
	}
	for {
		changed := h.svc.Changed() // before reading, so no event slips between
		list, err := h.svc.After(ctx, p.User.ID, filter, after, 200)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return errs.ToConnect(ctx, h.logger, err)
		}
		for i := range list {
			if err := stream.Send(&coderunnerv1.StreamAuditEventsResponse{Event: toProto(&list[i], p.User.Email)}); err != nil {
				return nil
			}
			after = list[i].ID
		}
		if len(list) == 200 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-time.After(resync):
		}
	}
}
