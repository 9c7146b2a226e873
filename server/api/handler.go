// Package api assembles CodeRunner's HTTP surface from the services the
// app built: the Connect/gRPC/gRPC-Web services with their interceptor
// chain, gRPC health and reflection, the health, metrics and log-download
// endpoints, the dashboard, CORS, the router in front of the apps, and the
// HTTP server (HTTP/1.1 and h2c HTTP/2 on one port).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/validate"
	"github.com/coderunner/coderunner/frontend"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/appconfig"
	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/health"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/projects"
	"github.com/coderunner/coderunner/server/router"
	"github.com/coderunner/coderunner/server/rpc/auditrpc"
	"github.com/coderunner/coderunner/server/rpc/authrpc"
	"github.com/coderunner/coderunner/server/rpc/configrpc"
	"github.com/coderunner/coderunner/server/rpc/databaserpc"
	"github.com/coderunner/coderunner/server/rpc/deploymentrpc"
	"github.com/coderunner/coderunner/server/rpc/metricsrpc"
	"github.com/coderunner/coderunner/server/rpc/projectrpc"
	"github.com/coderunner/coderunner/server/usage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"
)

// Request size caps. Deployment calls carry source (50 MiB, base64 in JSON
// adds a third); everything else is small. compressMinBytes is the smallest
// response message compressed for clients that accept compression: each
// follower's every message deflated on its own costs more CPU than the
// bytes it saves.
const (
	compressMinBytes          = 1 << 20
	maxSmallRequestBytes      = 1 << 20
	maxDeploymentRequestBytes = 72 << 20
)

// publicProcedures are the only RPCs callable without a token.
var publicProcedures = []string{
	coderunnerv1connect.AuthServiceRegisterProcedure,
	coderunnerv1connect.AuthServiceLoginProcedure,
}

// ServiceNames are the services reflection and health report.
var ServiceNames = []string{
	coderunnerv1connect.AuthServiceName,
	coderunnerv1connect.DeploymentServiceName,
	coderunnerv1connect.MetricsServiceName,
	coderunnerv1connect.ConfigServiceName,
	coderunnerv1connect.ProjectServiceName,
	coderunnerv1connect.AuditServiceName,
	coderunnerv1connect.DatabaseServiceName,
}

// Services are what the HTTP surface serves.
type Services struct {
	Auth     *auth.Service
	Config   *appconfig.Service
	Projects *projects.Service
	Audit    *audit.Service
	// Databases gives deployments databases.
	Databases *appdb.Service
	Manager   *orchestrator.Manager
	Logs      *logs.Service
	Sampler   *usage.Sampler
	Traffic   *metrics.Traffic
	Checker   *health.Checker
	Registry  *prometheus.Registry
	// Draining is cancelled when shutdown begins; streams end on it.
	Draining context.Context
}

// Options are the HTTP surface's settings.
type Options struct {
	// AppsDomain: requests for <slug>.<AppsDomain> go to the deployment.
	AppsDomain   string
	CORSOrigins  []string
	MetricsToken string
}

// NewHandler returns the server's root handler.
func NewHandler(svc Services, opts Options, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mountRPC(mux, svc, logger)
	mux.Handle("GET /api/deployments/{id}/logs.txt", deploymentrpc.LogsDownload(svc.Manager, svc.Logs, svc.Auth.Authenticate, logger))
	mux.Handle("GET /health", health.LiveHandler())
	mux.Handle("GET /api/health", svc.Checker.ReadyHandler())
	metricsHandler := metrics.RequireToken(opts.MetricsToken, metrics.Handler(svc.Registry))
	mux.Handle("GET /metrics", metricsHandler)
	mux.Handle("GET /api/metrics", metricsHandler)
	mux.Handle("/", dashboardHandler(frontend.Dist()))

	platform := cors.New(cors.Options{
		AllowedOrigins: opts.CORSOrigins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization"),
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         7200,
	}).Handler(mux)
	// Requests for <slug>.<apps-domain> go to the deployment; the rest to
	// the platform.
	return router.New(svc.Manager, opts.AppsDomain, platform, svc.Traffic, logger)
}

// mountRPC mounts the Connect services, gRPC health and reflection on mux,
// every path behind the content-type check.
func mountRPC(mux *http.ServeMux, svc Services, logger *slog.Logger) {
	// The chain runs outermost first: recovery (connect.WithRecover, first
	// in common) sees panics anywhere, logging and metrics see every
	// outcome (auth and validation failures included), audit records every
	// mutating call of a known caller (refused input included), and
	// validation runs only for authenticated callers.
	interceptors := connect.WithInterceptors(
		loggingInterceptor{logger: logger},
		metrics.NewRPCInterceptor(svc.Registry),
		authrpc.NewInterceptor(svc.Auth, logger, publicProcedures...),
		auditrpc.NewInterceptor(svc.Audit, logger),
		validate.NewInterceptor(),
		drainInterceptor{draining: svc.Draining},
	)
	common := []connect.HandlerOption{
		connect.WithRecover(recovered(logger)),
		interceptors,
		connect.WithCodec(strictJSONCodec{name: "json"}),
		connect.WithCodec(strictJSONCodec{name: "json; charset=utf-8"}),
		connect.WithCompressMinBytes(compressMinBytes),
	}
	small := append(common, connect.WithReadMaxBytes(maxSmallRequestBytes))
	large := append(common[:len(common):len(common)], connect.WithReadMaxBytes(maxDeploymentRequestBytes))

	mount := func(path string, h http.Handler) { mux.Handle(path, requireRPCContentType(h)) }
	mount(coderunnerv1connect.NewAuthServiceHandler(authrpc.NewHandler(svc.Auth, logger), small...))
	mount(coderunnerv1connect.NewDeploymentServiceHandler(deploymentrpc.NewHandler(svc.Manager, svc.Logs, svc.Projects, svc.Databases, logger), large...))
	mount(coderunnerv1connect.NewMetricsServiceHandler(metricsrpc.NewHandler(svc.Manager, svc.Sampler, svc.Databases, logger), small...))
	mount(coderunnerv1connect.NewConfigServiceHandler(configrpc.NewHandler(svc.Config, logger), small...))
	mount(coderunnerv1connect.NewProjectServiceHandler(projectrpc.NewHandler(svc.Projects, logger), small...))
	mount(coderunnerv1connect.NewAuditServiceHandler(auditrpc.NewHandler(svc.Audit, logger), small...))
	mount(coderunnerv1connect.NewDatabaseServiceHandler(databaserpc.NewHandler(svc.Databases, svc.Auth, logger), large...))
	mount(grpchealth.NewHandler(svc.Checker, connect.WithRecover(recovered(logger)), connect.WithInterceptors(drainInterceptor{draining: svc.Draining})))
	reflector := grpcreflect.NewStaticReflector(append(ServiceNames, grpchealth.HealthV1ServiceName)...)
	mount(grpcreflect.NewHandlerV1(reflector))
	mount(grpcreflect.NewHandlerV1Alpha(reflector))
}

// NewHTTPServer returns the HTTP server for handler: HTTP/1.1 and h2c
// (gRPC clients speak HTTP/2 without TLS) on one port.
func NewHTTPServer(handler http.Handler, logger *slog.Logger) *http.Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           handler,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: it would cut long log and status streams.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
