// Package api assembles CodeRunner's HTTP surface: the Connect/gRPC/gRPC-Web
// services with their interceptor chain, gRPC health and reflection, the
// health and metrics endpoints, CORS, and the HTTP server (HTTP/1.1 and h2c
// HTTP/2 on one port) with graceful shutdown.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/validate"
	"github.com/coderunner/coderunner/frontend"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/deploy"
	"github.com/coderunner/coderunner/server/health"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/coderunner/coderunner/server/router"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/source"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/usage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/cors"
	"github.com/uptrace/bun"
)

// Request size caps. Deployment calls carry source (50 MiB, base64 in JSON
// adds a third); everything else is small. compressMinBytes is the smallest
// response message compressed for clients that accept compression.
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

// serviceNames are the services reflection and health report.
var serviceNames = []string{
	coderunnerv1connect.AuthServiceName,
	coderunnerv1connect.DeploymentServiceName,
	coderunnerv1connect.MetricsServiceName,
}

// Server is CodeRunner's HTTP server.
type Server struct {
	cfg     config.Config
	logger  *slog.Logger
	handler http.Handler
	manager *orchestrator.Manager
	logs    *logs.Service
	sampler *usage.Sampler
	checker *health.Checker
	ready   prometheus.Gauge
	// draining is cancelled when shutdown begins; streams end on it.
	draining     context.Context
	stopDraining context.CancelFunc
	// serving is called once reconcile is done and requests are served.
	serving func()
}

// Option adjusts a Server at construction.
type Option func(*options)

type options struct {
	now     func() time.Time
	driver  sandbox.Driver
	serving func()
}

// WithServing has Serve call fn once deployments are reconciled and the
// listener is being served: the moment a person may start using it.
func WithServing(fn func()) Option {
	return func(o *options) { o.serving = fn }
}

// WithSandboxDriver runs deployments with driver instead of the local
// (bubblewrap) driver.
func WithSandboxDriver(driver sandbox.Driver) Option {
	return func(o *options) { o.driver = driver }
}

// WithClock makes the server read time from now instead of time.Now, so
// tests can reach expiry without waiting.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New wires every service on db. reg receives the server's metrics.
func New(cfg config.Config, db *bun.DB, logger *slog.Logger, reg *prometheus.Registry, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		var err error
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	authSvc := auth.NewService(db, auth.Options{
		JWTSecret:          secret,
		SessionTTL:         cfg.SessionTTL,
		LoginMaxFailures:   cfg.LoginMaxFailures,
		LoginFailureWindow: cfg.LoginFailureWindow,
		Now:                o.now,
	})
	ocfg := orchestratorConfig(cfg, o.now)
	driver := o.driver
	if driver == nil {
		if err := sandbox.CheckHostDir(cfg.DataDir); err != nil {
			return nil, err
		}
		local, err := sandbox.NewLocal(sandbox.LocalOptions{
			CgroupRoot: cgroupRoot(cfg.DataDir),
			Limits:     ocfg.Limits,
			Logger:     logger,
		})
		if err != nil {
			return nil, err
		}
		driver = local
	}
	logSvc := logs.New(db, logs.Options{Logger: logger})
	traffic := metrics.NewTraffic()
	ocfg.Metrics = metrics.NewPlatform(reg, traffic)
	manager, err := orchestrator.New(sqlstore.New(db), driver, logSvc, ocfg, logger)
	if err != nil {
		return nil, err
	}
	sampler := usage.NewSampler(manager, traffic, logger)
	reg.MustRegister(traffic, sampler, collectors.NewDBStatsCollector(db.DB, "coderunner"))
	metrics.RegisterLogCounters(reg, logSvc.Totals)
	draining, stopDraining := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, logger: logger, manager: manager, logs: logSvc, sampler: sampler, draining: draining, stopDraining: stopDraining, serving: o.serving}

	// The chain runs outermost first: recovery (connect.WithRecover, first
	// in common) sees panics anywhere, logging and metrics see every
	// outcome (auth and validation failures included), and validation runs
	// only for authenticated callers.
	interceptors := connect.WithInterceptors(
		loggingInterceptor{logger: logger},
		metrics.NewRPCInterceptor(reg),
		auth.NewInterceptor(authSvc, logger, publicProcedures...),
		validate.NewInterceptor(),
		drainInterceptor{draining: draining},
	)
	common := []connect.HandlerOption{
		connect.WithRecover(recovered(logger)),
		interceptors,
		connect.WithCodec(strictJSONCodec{name: "json"}),
		connect.WithCodec(strictJSONCodec{name: "json; charset=utf-8"}),
		// Message compression (gRPC clients ask for gzip) cost a third of
		// the server's CPU with 500 log followers: every follower's
		// every message was deflated on its own. Only messages over
		// compressMinBytes are compressed now.
		connect.WithCompressMinBytes(compressMinBytes),
	}
	small := append(common, connect.WithReadMaxBytes(maxSmallRequestBytes))
	large := append(common[:len(common):len(common)], connect.WithReadMaxBytes(maxDeploymentRequestBytes))

	// Every RPC path gets the content-type check; the rest of the mux serves
	// plain HTTP endpoints.
	mux := http.NewServeMux()
	mount := func(path string, h http.Handler) { mux.Handle(path, requireRPCContentType(h)) }
	mount(coderunnerv1connect.NewAuthServiceHandler(auth.NewHandler(authSvc, logger), small...))
	mount(coderunnerv1connect.NewDeploymentServiceHandler(deploy.NewHandler(manager, logSvc, logger), large...))
	mount(coderunnerv1connect.NewMetricsServiceHandler(usage.NewHandler(manager, sampler, logger), small...))

	checker := health.NewChecker(db, cfg.DataDir, driver.Check, serviceNames...)
	s.checker, s.ready = checker, metrics.NewReadyGauge(reg)
	mount(grpchealth.NewHandler(checker, connect.WithRecover(recovered(logger)), connect.WithInterceptors(drainInterceptor{draining: draining})))
	reflector := grpcreflect.NewStaticReflector(append(serviceNames, grpchealth.HealthV1ServiceName)...)
	mount(grpcreflect.NewHandlerV1(reflector))
	mount(grpcreflect.NewHandlerV1Alpha(reflector))

	mux.Handle("GET /api/deployments/{id}/logs.txt", deploy.LogsDownload(manager, logSvc, authSvc.Authenticate, logger))
	mux.Handle("GET /health", health.LiveHandler())
	mux.Handle("GET /api/health", checker.ReadyHandler())
	metricsHandler := metrics.RequireToken(cfg.MetricsToken, metrics.Handler(reg))
	mux.Handle("GET /metrics", metricsHandler)
	mux.Handle("GET /api/metrics", metricsHandler)
	mux.Handle("/", dashboardHandler(frontend.Dist()))

	platform := cors.New(cors.Options{
		AllowedOrigins: cfg.CORSOrigins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization"),
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         7200,
	}).Handler(mux)
	// Requests for <slug>.<apps-domain> go to the deployment; the rest to
	// the platform.
	s.handler = router.New(manager, cfg.AppsDomain, platform, traffic, logger)
	return s, nil
}

// cgroupRoot names the cgroup that holds this server's sandboxes. It is
// derived from the data dir, so a restarted server finds (and cleans up)
// its own strays, and never touches the sandboxes of another server on the
// same machine.
func cgroupRoot(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return "coderunner-" + hex.EncodeToString(sum[:6])
}

func selfBinary() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	return path
}

// orchestratorConfig derives the orchestrator's settings from cfg.
func orchestratorConfig(cfg config.Config, now func() time.Time) orchestrator.Config {
	port := cfg.PublicPort
	if port == 0 {
		if _, p, err := net.SplitHostPort(cfg.Addr); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	return orchestrator.Config{
		Node:       cgroupRoot(cfg.DataDir),
		DataDir:    cfg.DataDir,
		AppsDomain: cfg.AppsDomain,
		PublicPort: port,
		Limits: sandbox.Limits{
			MemoryBytes:   int64(cfg.SandboxMemoryMiB) << 20,
			CPUMillicores: cfg.SandboxCPUMillicores,
			Pids:          cfg.SandboxPids,
		},
		DiskQuotaBytes: int64(cfg.SandboxDiskMiB) << 20,
		SourceLimits: source.Limits{
			MaxTotalBytes: int64(cfg.SourceMaxMiB) << 20,
			MaxFiles:      cfg.SourceMaxFiles,
			MaxFileBytes:  int64(cfg.SourceMaxFileMiB) << 20,
		},
		BuildTimeout:          cfg.BuildTimeout,
		ReadyTimeout:          cfg.ReadyTimeout,
		StopGrace:             cfg.StopGrace,
		CrashBackoff:          cfg.CrashBackoff,
		DrainTimeout:          cfg.DrainTimeout,
		MaxDeploymentsPerUser: cfg.MaxDeploymentsPerUser,
		SelfBinary:            selfBinary(),
		Now:                   now,
	}
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, ends open streams, and waits up to the shutdown timeout for
// in-flight requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	// h2c: gRPC clients speak HTTP/2 without TLS.
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.handler,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: it would cut long log and status streams.
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.stopDraining)
	// Deployments that should run are started again before serving.
	if err := s.manager.Reconcile(ctx); err != nil {
		return err
	}
	if s.cfg.UsesPostgres() {
		// Servers sharing the database pass each other's log lines and
		// status changes to their own followers and watchers.
		listenCtx, stopListening := context.WithCancel(context.Background())
		listening := make(chan struct{})
		defer func() { stopListening(); <-listening }()
		go func() {
			defer close(listening)
			store.Listen(listenCtx, s.cfg.DatabaseURL, []string{logs.NotifyChannel, orchestrator.EventsChannel},
				func(channel, payload string) {
					switch channel {
					case logs.NotifyChannel:
						s.logs.Relay(listenCtx, payload)
					case orchestrator.EventsChannel:
						s.manager.RelayEvent(listenCtx, payload)
					}
				}, s.logger)
		}()
	}
	defer s.logs.Close() // after the apps stopped: their last lines are stored
	defer s.manager.Close()

	// Measurements and the readiness gauge are taken in the background, so
	// a scrape only reads what is already there.
	background, stopBackground := context.WithCancel(context.Background())
	var backgroundDone sync.WaitGroup
	defer func() { stopBackground(); backgroundDone.Wait() }()
	backgroundDone.Go(func() { s.sampler.Run(background) })
	backgroundDone.Go(func() { s.watchReadiness(background) })

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.serving != nil {
		s.serving()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readinessInterval is how often the coderunner_ready gauge is refreshed.
const readinessInterval = 10 * time.Second

// watchReadiness runs the readiness checks every readinessInterval and sets
// the coderunner_ready gauge: 1 when /api/health would answer 200.
func (s *Server) watchReadiness(ctx context.Context) {
	tick := time.NewTicker(readinessInterval)
	defer tick.Stop()
	for {
		ready := 0.0
		if s.checker.Run(ctx).Status != health.StatusDown {
			ready = 1
		}
		if ctx.Err() != nil {
			return
		}
		s.ready.Set(ready)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
