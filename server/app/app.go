// Package app is CodeRunner's composition root: it builds the domain
// services on the database (accounts, the orchestrator with its sandbox
// driver, logs, usage sampling, health), hands them to api for the HTTP
// surface, and runs their lifecycle: reconcile before serving, the
// cross-server relay on PostgreSQL, background sampling, and graceful
// shutdown.
package app

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

	"github.com/coderunner/coderunner/server/autoscale/controller"

	"github.com/coderunner/coderunner/server/api"
	"github.com/coderunner/coderunner/server/appconfig"
	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/health"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/coderunner/coderunner/server/projects"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/source"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/usage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"
)

// Server is a CodeRunner server: its services and its HTTP surface.
type Server struct {
	cfg     config.Config
	logger  *slog.Logger
	handler http.Handler
	manager *orchestrator.Manager
	// appServers is the server apps' databases live on.
	appServers *appDatabases
	databases  *appdb.Service
	logs       *logs.Service
	sampler    *usage.Sampler
	audit      *audit.Service
	checker    *health.Checker
	ready      prometheus.Gauge
	// draining is cancelled when shutdown begins; streams end on it.
	draining     context.Context
	stopDraining context.CancelFunc
	// serving is called once reconcile is done and requests are served.
	serving func()
}

// Option adjusts a Server at construction.
type Option func(*options)

type options struct {
	now        func() time.Time
	driver     sandbox.Driver
	serving    func()
	selfBinary string
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

// WithSelfBinary has manifest deployments run the coderunner binary at
// path instead of the running executable (a test binary, in tests).
func WithSelfBinary(path string) Option {
	return func(o *options) { o.selfBinary = path }
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
	authSvc, err := newAuth(cfg, db, o.now)
	if err != nil {
		return nil, err
	}
	ocfg := orchestratorConfig(cfg, o.now)
	if o.selfBinary != "" {
		ocfg.SelfBinary = o.selfBinary
	} else {
		exe, _ := os.Executable()
		var why string
		ocfg.SelfBinary, why = manifestRuntime(exe)
		logger.Info("manifest runtime", "binary", ocfg.SelfBinary, "why", why)
	}
	driver := o.driver
	if driver == nil {
		if driver, err = newLocalDriver(cfg, ocfg.Limits, logger); err != nil {
			return nil, err
		}
	}
	keys, err := secrets.LoadKeyring(cfg.DataDir, cfg.SecretKey, cfg.SecretKeyPrevious)
	if err != nil {
		return nil, err
	}
	configSvc := appconfig.New(db, keys, o.now)
	auditSvc := audit.New(db, cfg.AuditRetention, o.now)
	ocfg.Secrets = configSvc
	databases, appServers := newDatabases(cfg, db, keys, logger)
	ocfg.Attachments = databases
	logSvc := logs.New(db, logs.Options{Logger: logger})
	traffic := metrics.NewTraffic()
	ocfg.Metrics = metrics.NewPlatform(reg, traffic)
	manager, err := orchestrator.New(sqlstore.New(db), driver, logSvc, ocfg, logger)
	if err != nil {
		return nil, err
	}
	projectSvc := projects.New(db, manager, o.now)
	configSvc.SetDeployments(manager, projectSvc)
	databases.SetDeployments(manager)
	databases.SetNotices(func(id, text string) { logSvc.Append(id, logs.System, logs.Run, 0, text, false) })
	sampler := usage.NewSampler(manager, traffic, logger)
	sampler.AfterSample(controller.New(manager, sampler, logger).Evaluate)
	reg.MustRegister(traffic, sampler, databases, collectors.NewDBStatsCollector(db.DB, "coderunner"))
	metrics.RegisterLogCounters(reg, logSvc.Totals)
	draining, stopDraining := context.WithCancel(context.Background())
	checker := health.NewChecker(db, cfg.DataDir, driver.Check, api.ServiceNames...)
	checker.AddOptional("apps_postgres", appServers.health)
	checker.AddOptional("apps_redis", appServers.redisHealth)
	s := &Server{
		cfg: cfg, logger: logger, manager: manager, appServers: appServers, databases: databases, logs: logSvc, sampler: sampler, audit: auditSvc,
		checker: checker, ready: metrics.NewReadyGauge(reg),
		draining: draining, stopDraining: stopDraining, serving: o.serving,
	}
	s.handler = api.NewHandler(api.Services{
		Auth: authSvc, Config: configSvc, Projects: projectSvc, Audit: auditSvc, Databases: databases, Manager: manager, Logs: logSvc, Sampler: sampler, Traffic: traffic,
		Checker: checker, Registry: reg, Draining: draining,
	}, api.Options{AppsDomain: cfg.AppsDomain, CORSOrigins: cfg.CORSOrigins, MetricsToken: cfg.MetricsToken}, logger)
	return s, nil
}

// newAuth returns the account service, signing with the configured secret
// or the data dir's.
func newAuth(cfg config.Config, db *bun.DB, now func() time.Time) (*auth.Service, error) {
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		var err error
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	return auth.NewService(db, auth.Options{
		JWTSecret:          secret,
		SessionTTL:         cfg.SessionTTL,
		LoginMaxFailures:   cfg.LoginMaxFailures,
		LoginFailureWindow: cfg.LoginFailureWindow,
		Now:                now,
	}), nil
}

// newLocalDriver returns the bubblewrap driver, once the data dir is one
// its sandboxes can mount from.
func newLocalDriver(cfg config.Config, limits sandbox.Limits, logger *slog.Logger) (sandbox.Driver, error) {
	if err := sandbox.CheckHostDir(cfg.DataDir); err != nil {
		return nil, err
	}
	return sandbox.NewLocal(sandbox.LocalOptions{
		CgroupRoot: cgroupRoot(cfg.DataDir),
		Limits:     limits,
		Logger:     logger,
	})
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
		ReplicaQuota:          cfg.MaxReplicas,
		MaxHeldRequests:       cfg.MaxHeldRequests,
		WarmWake:              cfg.WarmWake,
		KeepReleases:          cfg.KeepReleases,
		Now:                   now,
	}
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, ends open streams, and waits up to the shutdown timeout for
// in-flight requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := api.NewHTTPServer(s.handler, s.logger)
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
			store.Listen(listenCtx, s.cfg.DatabaseURL, []string{logs.NotifyChannel, orchestrator.EventsChannel, audit.NotifyChannel},
				func(channel, payload string) {
					switch channel {
					case logs.NotifyChannel:
						s.logs.Relay(listenCtx, payload)
					case orchestrator.EventsChannel:
						s.manager.RelayEvent(listenCtx, payload)
					case audit.NotifyChannel:
						s.audit.Relay(payload)
					}
				}, s.logger)
		}()
	}
	// Last, once the apps (their databases' clients) have stopped.
	defer s.appServers.close(context.WithoutCancel(ctx))
	defer s.logs.Close() // after the apps stopped: their last lines are stored
	defer s.manager.Close()

	// Measurements and the readiness gauge are taken in the background, so
	// a scrape only reads what is already there.
	background, stopBackground := context.WithCancel(context.Background())
	var backgroundDone sync.WaitGroup
	defer func() { stopBackground(); backgroundDone.Wait() }()
	backgroundDone.Go(func() { s.sampler.Run(background) })
	backgroundDone.Go(func() { s.watchReadiness(background) })
	backgroundDone.Go(func() { s.audit.RunRetention(background, s.logger) })
	backgroundDone.Go(func() { s.databases.RunUsage(background) })

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
		_ = srv.Close()
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
