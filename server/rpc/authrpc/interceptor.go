package authrpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
)

// Interceptor authenticates every call, unary and streaming, except the
// public procedures it was built with.
type Interceptor struct {
	svc    *auth.Service
	public map[string]bool
	logger *slog.Logger
}

var _ connect.Interceptor = (*Interceptor)(nil)

// NewInterceptor returns an Interceptor that lets publicProcedures through
// unauthenticated.
func NewInterceptor(svc *auth.Service, logger *slog.Logger, publicProcedures ...string) *Interceptor {
	public := make(map[string]bool, len(publicProcedures))
	for _, p := range publicProcedures {
		public[p] = true
	}
	return &Interceptor{svc: svc, public: public, logger: logger}
}

func (i *Interceptor) authenticate(ctx context.Context, procedure string, header http.Header) (context.Context, error) {
	if i.public[procedure] {
		return ctx, nil
	}
	token, err := bearerToken(header)
	if err != nil {
		return nil, err
	}
	p, err := i.svc.Authenticate(ctx, token)
	if err != nil {
		return nil, errs.ToConnect(ctx, i.logger, err)
	}
	return auth.WithPrincipal(ctx, p), nil
}

func bearerToken(header http.Header) (string, error) {
	value := header.Get("Authorization")
	if value == "" {
		return "", connect.NewError(connect.CodeUnauthenticated,
			errors.New("missing credentials: send the header 'Authorization: Bearer <token>' with a token from AuthService/Login or an API token"))
	}
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", connect.NewError(connect.CodeUnauthenticated,
			errors.New("malformed Authorization header: expected 'Bearer <token>'"))
	}
	return strings.TrimSpace(token), nil
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor: streams are
// authenticated exactly like unary calls, before the handler runs.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
