// Package projectrpc is the ProjectService's transport over projects.
package projectrpc

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/projects"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler implements ProjectService.
type Handler struct {
	projects *projects.Service
	logger   *slog.Logger
}

var _ coderunnerv1connect.ProjectServiceHandler = (*Handler)(nil)

// NewHandler returns the ProjectService over svc.
func NewHandler(svc *projects.Service, logger *slog.Logger) *Handler {
	return &Handler{projects: svc, logger: logger}
}

func owner(ctx context.Context) string { return auth.MustPrincipal(ctx).User.ID }

func (h *Handler) toProto(ctx context.Context, p *projects.Project) (*coderunnerv1.Project, error) {
	n, err := h.projects.Count(ctx, p.OwnerID, p.ID)
	if err != nil {
		return nil, err
	}
	return &coderunnerv1.Project{
		Id: p.ID, Name: p.Name, Description: p.Description, IsDefault: p.IsDefault,
		DeploymentCount: int32(n), Env: p.Env, CreatedAt: timestamppb.New(p.CreatedAt), UpdatedAt: timestamppb.New(p.UpdatedAt),
	}, nil
}

// one converts p, or maps err.
func (h *Handler) one(ctx context.Context, p *projects.Project, err error) (*coderunnerv1.Project, error) {
	if err == nil {
		var out *coderunnerv1.Project
		if out, err = h.toProto(ctx, p); err == nil {
			return out, nil
		}
	}
	return nil, errs.ToConnect(ctx, h.logger, err)
}

// CreateProject implements ProjectService.CreateProject.
func (h *Handler) CreateProject(ctx context.Context, req *connect.Request[coderunnerv1.CreateProjectRequest]) (*connect.Response[coderunnerv1.CreateProjectResponse], error) {
	p, err := h.projects.Create(ctx, owner(ctx), req.Msg.GetName(), req.Msg.GetDescription(), req.Msg.GetEnv())
	out, err := h.one(ctx, p, err)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&coderunnerv1.CreateProjectResponse{Project: out}), nil
}

// GetProject implements ProjectService.GetProject.
func (h *Handler) GetProject(ctx context.Context, req *connect.Request[coderunnerv1.GetProjectRequest]) (*connect.Response[coderunnerv1.GetProjectResponse], error) {
	p, err := h.projects.Get(ctx, owner(ctx), req.Msg.GetId())
	out, err := h.one(ctx, p, err)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&coderunnerv1.GetProjectResponse{Project: out}), nil
}

// ListProjects implements ProjectService.ListProjects.
func (h *Handler) ListProjects(ctx context.Context, _ *connect.Request[coderunnerv1.ListProjectsRequest]) (*connect.Response[coderunnerv1.ListProjectsResponse], error) {
	list, err := h.projects.List(ctx, owner(ctx))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	res := &coderunnerv1.ListProjectsResponse{}
	for i := range list {
		out, err := h.one(ctx, &list[i], nil)
		if err != nil {
			return nil, err
		}
		res.Projects = append(res.Projects, out)
	}
	return connect.NewResponse(res), nil
}

// UpdateProject implements ProjectService.UpdateProject.
func (h *Handler) UpdateProject(ctx context.Context, req *connect.Request[coderunnerv1.UpdateProjectRequest]) (*connect.Response[coderunnerv1.UpdateProjectResponse], error) {
	var change projects.Change
	for _, path := range req.Msg.GetUpdateMask().GetPaths() {
		switch path {
		case "name":
			change.Name = &req.Msg.Name
		case "description":
			change.Description = &req.Msg.Description
		case "env":
			change.Env = &req.Msg.Env
		}
	}
	p, err := h.projects.Update(ctx, owner(ctx), req.Msg.GetId(), change)
	out, err := h.one(ctx, p, err)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&coderunnerv1.UpdateProjectResponse{Project: out}), nil
}

// DeleteProject implements ProjectService.DeleteProject.
func (h *Handler) DeleteProject(ctx context.Context, req *connect.Request[coderunnerv1.DeleteProjectRequest]) (*connect.Response[coderunnerv1.DeleteProjectResponse], error) {
	if err := h.projects.Delete(ctx, owner(ctx), req.Msg.GetId()); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.DeleteProjectResponse{}), nil
}
