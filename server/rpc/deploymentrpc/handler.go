// Package deploymentrpc is the DeploymentService's transport: it converts
// messages, calls the orchestrator, and maps errors.
package deploymentrpc

import (
	"context"
	"encoding/base64"
	"log/slog"
	"slices"
	"strconv"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/projects"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
)

// Handler implements DeploymentService over the orchestrator (the
// lifecycle), the log service (logs and their streams) and the projects
// deployments belong to.
type Handler struct {
	coderunnerv1connect.UnimplementedDeploymentServiceHandler
	manager  *orchestrator.Manager
	logs     *logs.Service
	projects *projects.Service
	// databases gives new deployments the databases they ask for; nil
	// refuses such requests.
	databases *appdb.Service
	logger    *slog.Logger
}

var _ coderunnerv1connect.DeploymentServiceHandler = (*Handler)(nil)

// NewHandler returns the DeploymentService handler over manager, the log
// service, projects and databases.
func NewHandler(manager *orchestrator.Manager, logSvc *logs.Service, projectSvc *projects.Service, databases *appdb.Service, logger *slog.Logger) *Handler {
	return &Handler{manager: manager, logs: logSvc, projects: projectSvc, databases: databases, logger: logger}
}

// project returns the id of ownerID's project id, or of their default
// project when id is empty; another owner's is NotFound.
func (h *Handler) project(ctx context.Context, ownerID, id string) (string, error) {
	if id == "" {
		p, err := h.projects.Default(ctx, ownerID)
		if err != nil {
			return "", err
		}
		return p.ID, nil
	}
	p, err := h.projects.Get(ctx, ownerID, id)
	if err != nil {
		return "", errs.Field(errs.KindNotFound, "project_id", "project not found")
	}
	return p.ID, nil
}

func owner(ctx context.Context) string { return auth.MustPrincipal(ctx).User.ID }

func (h *Handler) fail(ctx context.Context, err error) error {
	return errs.ToConnect(ctx, h.logger, err)
}

// CreateDeployment implements DeploymentService.CreateDeployment.
func (h *Handler) CreateDeployment(ctx context.Context, req *connect.Request[coderunnerv1.CreateDeploymentRequest]) (*connect.Response[coderunnerv1.CreateDeploymentResponse], error) {
	m := req.Msg
	projectID, err := h.project(ctx, owner(ctx), m.GetProjectId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	d, err := h.manager.Create(ctx, orchestrator.CreateRequest{
		OwnerID:       owner(ctx),
		ProjectID:     projectID,
		Name:          m.GetName(),
		Runtime:       runtimeFromProto(m.GetRuntime()),
		Files:         filesFromProto(m.GetFiles()),
		Archive:       m.GetArchive(),
		Env:           m.GetEnv(),
		Replicas:      int(m.GetReplicas()),
		CPUMillicores: int(m.GetLimits().GetCpuMillicores()),
		MemoryBytes:   m.GetLimits().GetMemoryBytes(),
		Autoscale:     policyFromProto(m.GetAutoscale()),
		Prepare: func(ctx context.Context, needs []string) (func(context.Context, *orchestrator.Deployment) error, func(), error) {
			return h.attachDatabases(ctx, m.GetDatabases(), needs)
		},
	})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.CreateDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// attachDatabases is what CreateDeployment's databases field asks for,
// with what the app's runtime needs (a manifest's database: postgres).
func (h *Handler) attachDatabases(ctx context.Context, engines []coderunnerv1.DatabaseEngine, needs []string) (func(context.Context, *orchestrator.Deployment) error, func(), error) {
	var list []appdb.Engine
	for _, e := range engines {
		list = append(list, protoconv.EngineFromProto(e))
	}
	for _, n := range needs {
		if e := appdb.Engine(n); !slices.Contains(list, e) {
			list = append(list, e)
		}
	}
	if len(list) == 0 {
		return nil, func() {}, nil
	}
	if h.databases == nil {
		return nil, nil, errs.Field(errs.KindFailedPrecondition, "databases", "this server gives deployments no databases")
	}
	return h.databases.ForCreate(ctx, list)
}

// GetDeployment implements DeploymentService.GetDeployment.
func (h *Handler) GetDeployment(ctx context.Context, req *connect.Request[coderunnerv1.GetDeploymentRequest]) (*connect.Response[coderunnerv1.GetDeploymentResponse], error) {
	d, err := h.manager.Get(ctx, owner(ctx), req.Msg.GetId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.GetDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// pageToken encodes an offset; it is opaque to clients.
func pageToken(offset int) string {
	if offset == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset)))
}

func parsePageToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n, convErr := strconv.Atoi(string(raw))
	if err != nil || convErr != nil || n < 0 {
		return 0, errs.Field(errs.KindInvalidArgument, "page_token", "page_token is not one this server issued")
	}
	return n, nil
}

// ListDeployments implements DeploymentService.ListDeployments.
func (h *Handler) ListDeployments(ctx context.Context, req *connect.Request[coderunnerv1.ListDeploymentsRequest]) (*connect.Response[coderunnerv1.ListDeploymentsResponse], error) {
	offset, err := parsePageToken(req.Msg.GetPageToken())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	size := int(req.Msg.GetPageSize())
	if size == 0 {
		size = 20
	}
	if id := req.Msg.GetProjectId(); id != "" {
		if _, err := h.project(ctx, owner(ctx), id); err != nil {
			return nil, h.fail(ctx, err)
		}
	}
	list, total, next, err := h.manager.List(ctx, owner(ctx), orchestrator.ListFilter{
		Status:    protoconv.StatusFromProto(req.Msg.GetStatus()),
		Runtime:   string(runtimeFromProto(req.Msg.GetRuntime())),
		Name:      req.Msg.GetName(),
		ProjectID: req.Msg.GetProjectId(),
	}, offset, size)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	res := &coderunnerv1.ListDeploymentsResponse{TotalSize: int32(total), NextPageToken: pageToken(next)}
	for i := range list {
		res.Deployments = append(res.Deployments, h.deploymentToProto(&list[i]))
	}
	return connect.NewResponse(res), nil
}

// UpdateDeployment implements DeploymentService.UpdateDeployment.
func (h *Handler) UpdateDeployment(ctx context.Context, req *connect.Request[coderunnerv1.UpdateDeploymentRequest]) (*connect.Response[coderunnerv1.UpdateDeploymentResponse], error) {
	var u orchestrator.UpdateRequest
	for _, path := range req.Msg.GetUpdateMask().GetPaths() {
		switch path {
		case "env":
			u.Env, u.SetEnv = req.Msg.GetEnv(), true
		case "replicas":
			n := int(req.Msg.GetReplicas())
			u.Replicas = &n
		case "limits":
			cpu, mem := int(req.Msg.GetLimits().GetCpuMillicores()), req.Msg.GetLimits().GetMemoryBytes()
			u.CPUMillicores, u.MemoryBytes = &cpu, &mem
		case "autoscale":
			u.SetAutoscale, u.Autoscale = true, policyFromProto(req.Msg.GetAutoscale())
		}
	}
	d, err := h.manager.Update(ctx, owner(ctx), req.Msg.GetId(), u)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.UpdateDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// DeleteDeployment implements DeploymentService.DeleteDeployment.
func (h *Handler) DeleteDeployment(ctx context.Context, req *connect.Request[coderunnerv1.DeleteDeploymentRequest]) (*connect.Response[coderunnerv1.DeleteDeploymentResponse], error) {
	if err := h.manager.Delete(ctx, owner(ctx), req.Msg.GetId()); err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.DeleteDeploymentResponse{}), nil
}

// StartDeployment implements DeploymentService.StartDeployment.
func (h *Handler) StartDeployment(ctx context.Context, req *connect.Request[coderunnerv1.StartDeploymentRequest]) (*connect.Response[coderunnerv1.StartDeploymentResponse], error) {
	d, err := h.manager.Start(ctx, owner(ctx), req.Msg.GetId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.StartDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// StopDeployment implements DeploymentService.StopDeployment.
func (h *Handler) StopDeployment(ctx context.Context, req *connect.Request[coderunnerv1.StopDeploymentRequest]) (*connect.Response[coderunnerv1.StopDeploymentResponse], error) {
	d, err := h.manager.Stop(ctx, owner(ctx), req.Msg.GetId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.StopDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// RestartDeployment implements DeploymentService.RestartDeployment.
func (h *Handler) RestartDeployment(ctx context.Context, req *connect.Request[coderunnerv1.RestartDeploymentRequest]) (*connect.Response[coderunnerv1.RestartDeploymentResponse], error) {
	d, err := h.manager.Restart(ctx, owner(ctx), req.Msg.GetId())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.RestartDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// RedeployDeployment implements DeploymentService.RedeployDeployment.
func (h *Handler) RedeployDeployment(ctx context.Context, req *connect.Request[coderunnerv1.RedeployDeploymentRequest]) (*connect.Response[coderunnerv1.RedeployDeploymentResponse], error) {
	d, err := h.manager.Redeploy(ctx, owner(ctx), req.Msg.GetId(), filesFromProto(req.Msg.GetFiles()), req.Msg.GetArchive())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.RedeployDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// ListDeploymentEvents implements DeploymentService.ListDeploymentEvents.
func (h *Handler) ListDeploymentEvents(ctx context.Context, req *connect.Request[coderunnerv1.ListDeploymentEventsRequest]) (*connect.Response[coderunnerv1.ListDeploymentEventsResponse], error) {
	d, offset, size, err := h.pageOf(ctx, req.Msg.GetDeploymentId(), req.Msg.GetPageToken(), req.Msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	events, next, err := h.manager.Events(ctx, d.OwnerID, d.ID, offset, size)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	res := &coderunnerv1.ListDeploymentEventsResponse{NextPageToken: pageToken(next)}
	for i := range events {
		res.Events = append(res.Events, h.eventToProto(&events[i], d))
	}
	return connect.NewResponse(res), nil
}

// pageOf reads a paged request for the history of the caller's
// deployment id: the deployment, the offset page_token names and the
// page size (0 means 50). Its error is ready to return.
func (h *Handler) pageOf(ctx context.Context, id, token string, pageSize int32) (*orchestrator.Deployment, int, int, error) {
	offset, err := parsePageToken(token)
	if err != nil {
		return nil, 0, 0, h.fail(ctx, err)
	}
	size := int(pageSize)
	if size == 0 {
		size = 50
	}
	d, err := h.manager.Get(ctx, owner(ctx), id)
	if err != nil {
		return nil, 0, 0, h.fail(ctx, err)
	}
	return d, offset, size, nil
}
