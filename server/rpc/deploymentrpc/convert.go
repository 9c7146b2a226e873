package deploymentrpc

import (
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
	"github.com/coderunner/coderunner/server/source"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var runtimeToProto = map[string]coderunnerv1.Runtime{
	string(appruntime.NodeJS):   coderunnerv1.Runtime_RUNTIME_NODEJS,
	string(appruntime.Manifest): coderunnerv1.Runtime_RUNTIME_MANIFEST,
}

func runtimeFromProto(r coderunnerv1.Runtime) appruntime.Name {
	for name, p := range runtimeToProto {
		if p == r {
			return appruntime.Name(name)
		}
	}
	return ""
}

func (h *Handler) deploymentToProto(d *orchestrator.Deployment) *coderunnerv1.Deployment {
	p := &coderunnerv1.Deployment{
		Id:            d.ID,
		Name:          d.Name,
		Runtime:       runtimeToProto[d.Runtime],
		Status:        protoconv.StatusToProto(d.Status),
		StatusReason:  d.StatusReason,
		CreatedAt:     timestamppb.New(d.CreatedAt),
		UpdatedAt:     timestamppb.New(d.UpdatedAt),
		Owner:         d.OwnerID,
		ProjectId:     d.ProjectID,
		Slug:          d.Slug,
		Env:           d.Env,
		Replicas:      int32(d.Replicas),
		ReadyReplicas: int32(h.manager.ReadyReplicas(d.ID)),
		Limits: &coderunnerv1.ResourceLimits{
			CpuMillicores: int32(d.CPUMillicores),
			MemoryBytes:   d.MemoryBytes,
		},
		SourceDigest:      d.SourceDigest,
		Revision:          d.Revision,
		RestartCount:      int32(d.RestartCount),
		ReplacementFailed: d.ReplacementFailed,
		Release:           d.Release,
		Autoscale:         policyToProto(d.Autoscale),
	}
	if d.Status != orchestrator.StatusDestroyed {
		p.Url = h.manager.URL(d)
	}
	if d.StartedAt != nil {
		p.StartedAt = timestamppb.New(*d.StartedAt)
	}
	return p
}

func (h *Handler) eventToProto(e *orchestrator.Event, d *orchestrator.Deployment) *coderunnerv1.DeploymentEvent {
	// The nested deployment shows the status this event recorded, not
	// today's.
	snapshot := h.deploymentToProto(d)
	snapshot.Status, snapshot.StatusReason = protoconv.StatusToProto(e.Status), e.Reason
	return &coderunnerv1.DeploymentEvent{
		Deployment:     snapshot,
		Status:         protoconv.StatusToProto(e.Status),
		Reason:         e.Reason,
		Time:           timestamppb.New(e.CreatedAt),
		PreviousStatus: protoconv.StatusToProto(e.PreviousStatus),
	}
}

func filesFromProto(files []*coderunnerv1.SourceFile) []source.File {
	out := make([]source.File, len(files))
	for i, f := range files {
		out[i] = source.File{Path: f.GetPath(), Content: f.GetContent(), Executable: f.GetExecutable()}
	}
	return out
}
