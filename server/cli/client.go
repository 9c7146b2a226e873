package cli

import (
	"context"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
)

// defaultServer is where `make run` serves.
const defaultServer = "http://localhost:8080"

// clients are the generated Connect clients, authenticated with one token.
type clients struct {
	auth        coderunnerv1connect.AuthServiceClient
	deployments coderunnerv1connect.DeploymentServiceClient
	config      coderunnerv1connect.ConfigServiceClient
	audit       coderunnerv1connect.AuditServiceClient
	databases   coderunnerv1connect.DatabaseServiceClient
}

func newClients(server, token string) clients {
	server = strings.TrimSuffix(server, "/")
	// No client timeout: log and status streams stay open as long as the
	// user follows them; each call gets the command's context instead.
	httpClient := &http.Client{}
	opts := []connect.ClientOption{connect.WithInterceptors(bearer(token))}
	return clients{
		auth:        coderunnerv1connect.NewAuthServiceClient(httpClient, server, opts...),
		deployments: coderunnerv1connect.NewDeploymentServiceClient(httpClient, server, opts...),
		config:      coderunnerv1connect.NewConfigServiceClient(httpClient, server, opts...),
		audit:       coderunnerv1connect.NewAuditServiceClient(httpClient, server, opts...),
		databases:   coderunnerv1connect.NewDatabaseServiceClient(httpClient, server, opts...),
	}
}

// bearer adds the Authorization header to unary calls and streams alike.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
