package errs

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

var codes = map[Kind]connect.Code{
	KindInvalidArgument:    connect.CodeInvalidArgument,
	KindNotFound:           connect.CodeNotFound,
	KindAlreadyExists:      connect.CodeAlreadyExists,
	KindFailedPrecondition: connect.CodeFailedPrecondition,
	KindPermissionDenied:   connect.CodePermissionDenied,
	KindUnauthenticated:    connect.CodeUnauthenticated,
	KindResourceExhausted:  connect.CodeResourceExhausted,
	KindUnavailable:        connect.CodeUnavailable,
}

// ToConnect turns any error a handler meets into a Connect error. Domain
// errors keep their message and get their code; connect errors pass through;
// context cancellation becomes Canceled/DeadlineExceeded; anything else is
// logged in full and answered as Internal with a safe message, so SQL or
// file-system details never reach the caller.
func ToConnect(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var domainErr *Error
	if errors.As(err, &domainErr) {
		connectErr := connect.NewError(codes[domainErr.Kind], errors.New(domainErr.Message))
		if domainErr.Field != "" {
			addFieldViolation(connectErr, domainErr)
		}
		return connectErr
	}
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		return connectErr
	}
	switch {
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("request timed out"))
	}
	logger.ErrorContext(ctx, "internal error", "error", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error; the server log has details"))
}

// addFieldViolation attaches the same detail type the validate interceptor
// uses, so clients read schema and domain violations the same way.
func addFieldViolation(connectErr *connect.Error, domainErr *Error) {
	// A nested field ("autoscale.min_replicas") is one element per name,
	// as protovalidate writes it.
	var path []*validate.FieldPathElement
	for name := range strings.SplitSeq(domainErr.Field, ".") {
		path = append(path, &validate.FieldPathElement{FieldName: proto.String(name)})
	}
	violations := &validate.Violations{Violations: []*validate.Violation{{
		Field:   &validate.FieldPath{Elements: path},
		RuleId:  proto.String(ruleID(domainErr.Kind)),
		Message: proto.String(domainErr.Message),
	}}}
	if detail, err := connect.NewErrorDetail(violations); err == nil {
		connectErr.AddDetail(detail)
	}
}

func ruleID(kind Kind) string {
	switch kind {
	case KindAlreadyExists:
		return "unique"
	case KindNotFound:
		return "exists"
	default:
		return "valid"
	}
}
