// Package authrpc is the AuthService's transport, and the interceptor that
// authenticates every other RPC with auth's sessions and tokens.
package authrpc

import (
	"context"
	"log/slog"
	"net"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler is the AuthService's transport: it converts messages and maps
// errors; the rules live in Service.
type Handler struct {
	svc    *auth.Service
	logger *slog.Logger
}

var _ coderunnerv1connect.AuthServiceHandler = (*Handler)(nil)

// NewHandler returns the AuthService handler over svc.
func NewHandler(svc *auth.Service, logger *slog.Logger) *Handler {
	return &Handler{svc: svc, logger: logger}
}

// Register implements AuthService.Register.
func (h *Handler) Register(ctx context.Context, req *connect.Request[coderunnerv1.RegisterRequest]) (*connect.Response[coderunnerv1.RegisterResponse], error) {
	user, err := h.svc.Register(ctx, req.Msg.GetEmail(), req.Msg.GetPassword())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.RegisterResponse{User: userToProto(user)}), nil
}

// Login implements AuthService.Login.
func (h *Handler) Login(ctx context.Context, req *connect.Request[coderunnerv1.LoginRequest]) (*connect.Response[coderunnerv1.LoginResponse], error) {
	res, err := h.svc.Login(ctx, req.Msg.GetEmail(), req.Msg.GetPassword(), ClientHost(req.Peer().Addr))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.LoginResponse{
		Token:     res.Token,
		ExpiresAt: timestamppb.New(res.ExpiresAt),
		User:      userToProto(res.User),
	}), nil
}

// ClientHost drops the port, so one client's connections share a limit
// (and read as one address in the audit log).
func ClientHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// Verify implements AuthService.Verify.
func (h *Handler) Verify(ctx context.Context, _ *connect.Request[coderunnerv1.VerifyRequest]) (*connect.Response[coderunnerv1.VerifyResponse], error) {
	p := auth.MustPrincipal(ctx)
	return connect.NewResponse(&coderunnerv1.VerifyResponse{
		User:      userToProto(&p.User),
		ExpiresAt: optionalTimestamp(p.ExpiresAt),
	}), nil
}

// ChangePassword implements AuthService.ChangePassword.
func (h *Handler) ChangePassword(ctx context.Context, req *connect.Request[coderunnerv1.ChangePasswordRequest]) (*connect.Response[coderunnerv1.ChangePasswordResponse], error) {
	if err := h.svc.ChangePassword(ctx, auth.MustPrincipal(ctx), req.Msg.GetCurrentPassword(), req.Msg.GetNewPassword()); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.ChangePasswordResponse{}), nil
}

// Logout implements AuthService.Logout.
func (h *Handler) Logout(ctx context.Context, _ *connect.Request[coderunnerv1.LogoutRequest]) (*connect.Response[coderunnerv1.LogoutResponse], error) {
	if err := h.svc.Logout(ctx, auth.MustPrincipal(ctx)); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.LogoutResponse{}), nil
}

// CreateApiToken implements AuthService.CreateApiToken.
func (h *Handler) CreateApiToken(ctx context.Context, req *connect.Request[coderunnerv1.CreateApiTokenRequest]) (*connect.Response[coderunnerv1.CreateApiTokenResponse], error) {
	token, secret, err := h.svc.CreateAPIToken(ctx, auth.MustPrincipal(ctx).User.ID, req.Msg.GetName(), req.Msg.GetExpiresIn().AsDuration())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.CreateApiTokenResponse{ApiToken: apiTokenToProto(token), Secret: secret}), nil
}

// ListApiTokens implements AuthService.ListApiTokens.
func (h *Handler) ListApiTokens(ctx context.Context, _ *connect.Request[coderunnerv1.ListApiTokensRequest]) (*connect.Response[coderunnerv1.ListApiTokensResponse], error) {
	tokens, err := h.svc.ListAPITokens(ctx, auth.MustPrincipal(ctx).User.ID)
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	res := &coderunnerv1.ListApiTokensResponse{}
	for i := range tokens {
		res.ApiTokens = append(res.ApiTokens, apiTokenToProto(&tokens[i]))
	}
	return connect.NewResponse(res), nil
}

// RevokeApiToken implements AuthService.RevokeApiToken.
func (h *Handler) RevokeApiToken(ctx context.Context, req *connect.Request[coderunnerv1.RevokeApiTokenRequest]) (*connect.Response[coderunnerv1.RevokeApiTokenResponse], error) {
	if err := h.svc.RevokeAPIToken(ctx, auth.MustPrincipal(ctx).User.ID, req.Msg.GetId()); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.RevokeApiTokenResponse{}), nil
}
