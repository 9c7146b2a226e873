package databaserpc

import (
	"context"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
)

// RevealDatabaseURL implements DatabaseService.RevealDatabaseURL: the
// account's password first, then the URL.
func (h *Handler) RevealDatabaseURL(ctx context.Context, req *connect.Request[coderunnerv1.RevealDatabaseURLRequest]) (*connect.Response[coderunnerv1.RevealDatabaseURLResponse], error) {
	if err := h.accounts.Reauthenticate(ctx, owner(ctx), req.Msg.GetPassword()); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	url, err := h.databases.Reveal(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.RevealDatabaseURLResponse{Url: url}), nil
}
