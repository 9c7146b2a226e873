// Package databaserpc is the DatabaseService's transport over appdb.
package databaserpc

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler implements DatabaseService.
type Handler struct {
	databases *appdb.Service
	accounts  *auth.Service
	logger    *slog.Logger
}

var _ coderunnerv1connect.DatabaseServiceHandler = (*Handler)(nil)

// NewHandler returns the DatabaseService over svc; accounts checks
// passwords again before a reveal.
func NewHandler(svc *appdb.Service, accounts *auth.Service, logger *slog.Logger) *Handler {
	return &Handler{databases: svc, accounts: accounts, logger: logger}
}

func owner(ctx context.Context) string { return auth.MustPrincipal(ctx).User.ID }

func toProto(d *appdb.Database) *coderunnerv1.Database {
	return &coderunnerv1.Database{
		DeploymentId: d.DeploymentID, Engine: protoconv.EngineToProto(d.Engine), Name: d.Name, User: d.User,
		SizeBytes: d.Usage.SizeBytes, Connections: int32(d.Usage.Connections), ConnectionLimit: int32(d.ConnectionLimit),
		CreatedAt: timestamppb.New(d.CreatedAt), Url: d.URL, ReadOnly: d.ReadOnly, MaxBytes: d.MaxBytes,
	}
}

// CreateDatabase implements DatabaseService.CreateDatabase.
func (h *Handler) CreateDatabase(ctx context.Context, req *connect.Request[coderunnerv1.CreateDatabaseRequest]) (*connect.Response[coderunnerv1.CreateDatabaseResponse], error) {
	d, err := h.databases.Create(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.CreateDatabaseResponse{Database: toProto(d)}), nil
}

// GetDatabase implements DatabaseService.GetDatabase.
func (h *Handler) GetDatabase(ctx context.Context, req *connect.Request[coderunnerv1.GetDatabaseRequest]) (*connect.Response[coderunnerv1.GetDatabaseResponse], error) {
	d, err := h.databases.Get(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.GetDatabaseResponse{Database: toProto(d)}), nil
}

// ListDatabases implements DatabaseService.ListDatabases.
func (h *Handler) ListDatabases(ctx context.Context, req *connect.Request[coderunnerv1.ListDatabasesRequest]) (*connect.Response[coderunnerv1.ListDatabasesResponse], error) {
	list, err := h.databases.List(ctx, owner(ctx), req.Msg.GetDeploymentId())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	out := &coderunnerv1.ListDatabasesResponse{}
	for _, d := range list {
		out.Databases = append(out.Databases, toProto(d))
	}
	return connect.NewResponse(out), nil
}

// RotateDatabaseCredentials implements DatabaseService.RotateDatabaseCredentials.
func (h *Handler) RotateDatabaseCredentials(ctx context.Context, req *connect.Request[coderunnerv1.RotateDatabaseCredentialsRequest]) (*connect.Response[coderunnerv1.RotateDatabaseCredentialsResponse], error) {
	d, err := h.databases.Rotate(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()))
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.RotateDatabaseCredentialsResponse{Database: toProto(d)}), nil
}

// ExportDatabase implements DatabaseService.ExportDatabase: the dump goes
// out in chunks as pg_dump writes it.
func (h *Handler) ExportDatabase(ctx context.Context, req *connect.Request[coderunnerv1.ExportDatabaseRequest], stream *connect.ServerStream[coderunnerv1.ExportDatabaseResponse]) error {
	// Headers first: a browser client learns the stream is open before
	// the first chunk.
	if err := stream.Send(nil); err != nil {
		return err
	}
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&coderunnerv1.ExportDatabaseResponse{Chunk: b}) }}
	err := h.databases.Export(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()), w)
	if err == nil {
		err = w.flush()
	}
	return errs.ToConnect(ctx, h.logger, err)
}

// ImportDatabase implements DatabaseService.ImportDatabase.
func (h *Handler) ImportDatabase(ctx context.Context, req *connect.Request[coderunnerv1.ImportDatabaseRequest]) (*connect.Response[coderunnerv1.ImportDatabaseResponse], error) {
	if err := h.databases.Import(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine()), req.Msg.GetSql()); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.ImportDatabaseResponse{}), nil
}

// DeleteDatabase implements DatabaseService.DeleteDatabase.
func (h *Handler) DeleteDatabase(ctx context.Context, req *connect.Request[coderunnerv1.DeleteDatabaseRequest]) (*connect.Response[coderunnerv1.DeleteDatabaseResponse], error) {
	if err := h.databases.Delete(ctx, owner(ctx), req.Msg.GetDeploymentId(), protoconv.EngineFromProto(req.Msg.GetEngine())); err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	return connect.NewResponse(&coderunnerv1.DeleteDatabaseResponse{}), nil
}
