package auditrpc

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"connectrpc.com/connect"
	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/rpc/authrpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Interceptor audits every unary call that is not marked NO_SIDE_EFFECTS:
// it opens an audit scope, so the call's first transaction writes the
// event with the change, and records the outcome when the call returns.
// It runs after authentication (the caller is known) and before
// validation (refused input is audited too).
type Interceptor struct {
	svc    *audit.Service
	logger *slog.Logger
}

var _ connect.Interceptor = (*Interceptor)(nil)

// NewInterceptor returns an Interceptor writing to svc.
func NewInterceptor(svc *audit.Service, logger *slog.Logger) *Interceptor {
	return &Interceptor{svc: svc, logger: logger}
}

// Audited reports whether calls of spec are audited.
func Audited(spec connect.Spec) bool {
	return spec.StreamType == connect.StreamTypeUnary && spec.IdempotencyLevel != connect.IdempotencyNoSideEffects
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient || !Audited(req.Spec()) {
			return next(ctx, req)
		}
		event := audit.Event{Action: req.Spec().Procedure, ClientAddr: authrpc.ClientHost(req.Peer().Addr)}
		if p, ok := auth.PrincipalFrom(ctx); ok {
			event.UserID, event.TokenID = p.User.ID, p.TokenID
		}
		if msg, ok := req.Any().(proto.Message); ok {
			event.Summary = summarize(msg.ProtoReflect())
			event.TargetType, event.TargetID = target(req.Spec().Procedure, msg.ProtoReflect())
		}
		ctx, scope := i.svc.Begin(ctx, event)
		res, err := next(ctx, req)
		code, message := audit.OK, ""
		if err != nil {
			code, message = connect.CodeOf(err).String(), errorMessage(err)
		}
		if ferr := scope.Finish(ctx, code, message); ferr != nil {
			i.logger.Error("write audit event", "procedure", event.Action, "error", ferr)
		}
		return res, err
	}
}

func errorMessage(err error) string {
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return cerr.Message()
	}
	return err.Error()
}

// WrapStreamingClient implements connect.Interceptor.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor: the streams only
// read.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// targetOfID names what a request's "id" field is, by service.
var targetOfID = map[string]string{
	"ProjectService":    "project",
	"AuthService":       "api_token",
	"DeploymentService": "deployment",
}

// target names what the request acts on: its deployment_id or
// project_id, or its id read by the service's kind. Creates name theirs
// from the domain (audit.SetTarget), once the id exists.
func target(procedure string, msg protoreflect.Message) (string, string) {
	fields := msg.Descriptor().Fields()
	get := func(name protoreflect.Name) string {
		if fd := fields.ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
			return msg.Get(fd).String()
		}
		return ""
	}
	if id := get("deployment_id"); id != "" {
		return "deployment", id
	}
	if id := get("project_id"); id != "" {
		return "project", id
	}
	service, _, _ := strings.Cut(strings.TrimPrefix(procedure, "/coderunner.v1."), "/")
	if id := get("id"); id != "" && targetOfID[service] != "" {
		return targetOfID[service], id
	}
	return "", ""
}
