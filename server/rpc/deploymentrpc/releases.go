package deploymentrpc

import (
	"context"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/orchestrator"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var releaseKindToProto = map[orchestrator.ReleaseKind]coderunnerv1.ReleaseKind{
	orchestrator.ReleaseDeploy:   coderunnerv1.ReleaseKind_RELEASE_KIND_DEPLOY,
	orchestrator.ReleaseRedeploy: coderunnerv1.ReleaseKind_RELEASE_KIND_REDEPLOY,
	orchestrator.ReleaseConfig:   coderunnerv1.ReleaseKind_RELEASE_KIND_CONFIG,
	orchestrator.ReleaseRollback: coderunnerv1.ReleaseKind_RELEASE_KIND_ROLLBACK,
}

// ListReleases implements DeploymentService.ListReleases.
func (h *Handler) ListReleases(ctx context.Context, req *connect.Request[coderunnerv1.ListReleasesRequest]) (*connect.Response[coderunnerv1.ListReleasesResponse], error) {
	d, offset, size, err := h.pageOf(ctx, req.Msg.GetDeploymentId(), req.Msg.GetPageToken(), req.Msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	releases, next, err := h.manager.Releases(ctx, d.OwnerID, d.ID, offset, size)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	res := &coderunnerv1.ListReleasesResponse{NextPageToken: pageToken(next)}
	for i := range releases {
		res.Releases = append(res.Releases, releaseToProto(&releases[i], d.Release))
	}
	return connect.NewResponse(res), nil
}

// RollbackDeployment implements DeploymentService.RollbackDeployment.
func (h *Handler) RollbackDeployment(ctx context.Context, req *connect.Request[coderunnerv1.RollbackDeploymentRequest]) (*connect.Response[coderunnerv1.RollbackDeploymentResponse], error) {
	d, err := h.manager.Rollback(ctx, owner(ctx), req.Msg.GetDeploymentId(), req.Msg.GetRelease())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&coderunnerv1.RollbackDeploymentResponse{Deployment: h.deploymentToProto(d)}), nil
}

// releaseToProto converts r, of a deployment whose current release is
// current.
func releaseToProto(r *orchestrator.Release, current int64) *coderunnerv1.Release {
	return &coderunnerv1.Release{
		Number:            r.Number,
		DeploymentId:      r.DeploymentID,
		Kind:              releaseKindToProto[r.Kind],
		Description:       r.Description,
		SourceDigest:      r.SourceDigest,
		BuildKey:          r.BuildKey,
		ConfigVersion:     r.ConfigVersion(),
		Env:               r.Env,
		SecretVersions:    r.SecretVersions,
		RollbackOf:        r.RollbackOf,
		CreatedBy:         r.CreatedByEmail,
		CreateTime:        timestamppb.New(r.CreatedAt),
		Current:           r.Number == current,
		RollbackAvailable: !r.Pruned && r.Number != current,
	}
}
