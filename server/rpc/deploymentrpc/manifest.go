package deploymentrpc

import (
	"context"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/manifest"
)

// ValidateManifest implements DeploymentService.ValidateManifest: the same
// checks CreateDeployment makes, without deploying.
func (h *Handler) ValidateManifest(_ context.Context, req *connect.Request[coderunnerv1.ValidateManifestRequest]) (*connect.Response[coderunnerv1.ValidateManifestResponse], error) {
	_, diags := manifest.Parse([]byte(req.Msg.GetContent()))
	res := &coderunnerv1.ValidateManifestResponse{Valid: len(diags) == 0}
	for _, d := range diags {
		res.Diagnostics = append(res.Diagnostics, &coderunnerv1.ManifestDiagnostic{
			Line: int32(d.Line), Column: int32(d.Column), Path: d.Path, Message: d.Message,
		})
	}
	return connect.NewResponse(res), nil
}
