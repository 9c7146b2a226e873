// Package configrpc is the ConfigService's transport over appconfig.
package configrpc

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/appconfig"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler implements ConfigService.
type Handler struct {
	config *appconfig.Service
	logger *slog.Logger
}

var _ coderunnerv1connect.ConfigServiceHandler = (*Handler)(nil)

// NewHandler returns the ConfigService over config.
func NewHandler(config *appconfig.Service, logger *slog.Logger) *Handler {
	return &Handler{config: config, logger: logger}
}

func caller(ctx context.Context) string { return auth.MustPrincipal(ctx).User.ID }

func secretToProto(s *appconfig.Secret) *coderunnerv1.Secret {
	return &coderunnerv1.Secret{Name: s.Name, Version: s.Version, UpdatedAt: timestamppb.New(s.UpdatedAt), UpdatedBy: s.UpdatedBy}
}

// SetSecret implements ConfigService.SetSecret.
func (h *Handler) SetSecret(ctx context.Context, req *connect.Request[coderunnerv1.SetSecretRequest]) (*connect.Response[coderunnerv1.SetSecretResponse], error) {
	p := auth.MustPrincipal(ctx)
	var s *appconfig.Secret
	var err error
	if project := req.Msg.GetProjectId(); project != "" {
		s, err = h.config.SetProjectSecret(ctx, p.User.ID, p.User.ID, project, req.Msg.GetName(), req.Msg.GetValue())
	} else {
		s, err = h.config.SetSecret(ctx, p.User.ID, p.User.ID, req.Msg.GetDeploymentId(), req.Msg.GetName(), req.Msg.GetValue())
	}
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	s.UpdatedBy = p.User.Email
	return connect.NewResponse(&coderunnerv1.SetSecretResponse{Secret: secretToProto(s)}), nil
}

// DeleteSecret implements ConfigService.DeleteSecret.
func (h *Handler) DeleteSecret(ctx context.Context, req *connect.Request[coderunnerv1.DeleteSecretRequest]) (*connect.Response[coderunnerv1.DeleteSecretResponse], error) {
	var err error
	if project := req.Msg.GetProjectId(); project != "" {
		err = h.config.DeleteProjectSecret(ctx, caller(ctx), project, req.Msg.GetName())
	} else {
		err = h.config.DeleteSecret(ctx, caller(ctx), req.Msg.GetDeploymentId(), req.Msg.GetName())
	}
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.DeleteSecretResponse{}), nil
}

// ListSecrets implements ConfigService.ListSecrets.
func (h *Handler) ListSecrets(ctx context.Context, req *connect.Request[coderunnerv1.ListSecretsRequest]) (*connect.Response[coderunnerv1.ListSecretsResponse], error) {
	var list []appconfig.Secret
	var err error
	if project := req.Msg.GetProjectId(); project != "" {
		list, err = h.config.ListProjectSecrets(ctx, caller(ctx), project)
	} else {
		list, err = h.config.ListSecrets(ctx, caller(ctx), req.Msg.GetDeploymentId())
	}
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	out := &coderunnerv1.ListSecretsResponse{Secrets: make([]*coderunnerv1.Secret, len(list))}
	for i := range list {
		out.Secrets[i] = secretToProto(&list[i])
	}
	return connect.NewResponse(out), nil
}

// ExportConfig implements ConfigService.ExportConfig.
func (h *Handler) ExportConfig(ctx context.Context, req *connect.Request[coderunnerv1.ExportConfigRequest]) (*connect.Response[coderunnerv1.ExportConfigResponse], error) {
	format := appconfig.Dotenv
	if req.Msg.GetFormat() == coderunnerv1.ConfigFormat_CONFIG_FORMAT_JSON {
		format = appconfig.JSON
	}
	content, err := h.config.Export(ctx, caller(ctx), req.Msg.GetDeploymentId(), format)
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.ExportConfigResponse{Content: content}), nil
}

// ImportConfig implements ConfigService.ImportConfig.
func (h *Handler) ImportConfig(ctx context.Context, req *connect.Request[coderunnerv1.ImportConfigRequest]) (*connect.Response[coderunnerv1.ImportConfigResponse], error) {
	names, err := h.config.Import(ctx, caller(ctx), caller(ctx), req.Msg.GetDeploymentId(), req.Msg.GetDotenv(), req.Msg.GetAsSecrets())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.ImportConfigResponse{Names: names}), nil
}
