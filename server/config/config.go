// Package config turns flags and their environment twins into one Config.
// No other package reads the environment: everything configurable is here,
// parsed once at start-up and printed (secrets redacted) in the start-up log.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is CodeRunner's whole configuration.
type Config struct {
	// Addr is the host:port the server listens on.
	Addr string
	// DataDir holds the SQLite database, the generated JWT secret,
	// sources, deployments' app and data dirs and build caches. Parse makes
	// it absolute: sandboxes mount paths below it, and a mount source
	// relative to the server's working directory means nothing to bwrap.
	DataDir string
	// DatabaseURL selects PostgreSQL when it is a postgres:// URL; empty
	// means SQLite in DataDir.
	DatabaseURL string
	// JWTSecret signs session tokens; empty means generate one and keep it
	// in DataDir.
	JWTSecret string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// AppsDomain is the domain deployments are served under:
	// http://<slug>.<AppsDomain>:<port>/.
	AppsDomain string
	// CORSOrigins lists the origins browsers may call the API from.
	CORSOrigins []string
	// SessionTTL is how long a session token from Login stays valid.
	SessionTTL time.Duration
	// LoginMaxFailures failed logins per email or per client address within
	// LoginFailureWindow are allowed before further attempts are refused.
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight requests.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level

	// PublicPort is the port in deployment URLs; 0 means the port the
	// server listens on.
	PublicPort int
	// SandboxMemoryMiB, SandboxCPUMillicores and SandboxPids are the default
	// per-replica limits.
	SandboxMemoryMiB     int
	SandboxCPUMillicores int
	SandboxPids          int
	// SandboxDiskMiB caps what a deployment's app and data dirs may hold.
	SandboxDiskMiB int
	// BuildTimeout, ReadyTimeout and StopGrace bound builds, start-up and
	// the SIGTERM-to-SIGKILL grace period.
	BuildTimeout time.Duration
	ReadyTimeout time.Duration
	StopGrace    time.Duration
	// CrashBackoff is the first restart delay after a crash (it doubles up
	// to five minutes).
	CrashBackoff time.Duration
	// DrainTimeout is how long a redeploy lets the previous revision
	// answer the requests it has open before stopping it.
	DrainTimeout time.Duration
	// MaxDeploymentsPerUser caps each user's deployments.
	MaxDeploymentsPerUser int
	// Source limits: total MiB, file count, MiB per file.
	SourceMaxMiB     int
	SourceMaxFiles   int
	SourceMaxFileMiB int
}

// env names the environment variable twin of each flag.
var env = map[string]string{
	"addr":                 "CODERUNNER_ADDR",
	"data-dir":             "CODERUNNER_DATA_DIR",
	"database-url":         "DATABASE_URL",
	"apps-domain":          "CODERUNNER_APPS_DOMAIN",
	"cors-origins":         "CODERUNNER_CORS_ORIGINS",
	"session-ttl":          "CODERUNNER_SESSION_TTL",
	"login-max-failures":   "CODERUNNER_LOGIN_MAX_FAILURES",
	"login-failure-window": "CODERUNNER_LOGIN_FAILURE_WINDOW",
	"shutdown-timeout":     "CODERUNNER_SHUTDOWN_TIMEOUT",
	"log-level":            "CODERUNNER_LOG_LEVEL",
	"public-port":          "CODERUNNER_PUBLIC_PORT",
	"sandbox-memory-mib":   "CODERUNNER_SANDBOX_MEMORY_MIB",
	"sandbox-cpu":          "CODERUNNER_SANDBOX_CPU_MILLICORES",
	"sandbox-pids":         "CODERUNNER_SANDBOX_PIDS",
	"sandbox-disk-mib":     "CODERUNNER_SANDBOX_DISK_MIB",
	"build-timeout":        "CODERUNNER_BUILD_TIMEOUT",
	"ready-timeout":        "CODERUNNER_READY_TIMEOUT",
	"stop-grace":           "CODERUNNER_STOP_GRACE",
	"crash-backoff":        "CODERUNNER_CRASH_BACKOFF",
	"drain-timeout":        "CODERUNNER_DRAIN_TIMEOUT",
	"max-deployments":      "CODERUNNER_MAX_DEPLOYMENTS_PER_USER",
	"source-max-mib":       "CODERUNNER_SOURCE_MAX_MIB",
	"source-max-files":     "CODERUNNER_SOURCE_MAX_FILES",
	"source-max-file-mib":  "CODERUNNER_SOURCE_MAX_FILE_MIB",
}

// jwtSecretEnv is read from the environment only: a secret on the command
// line would show up in ps and shell history.
const jwtSecretEnv = "CODERUNNER_JWT_SECRET"

// metricsTokenEnv is environment-only for the same reason.
const metricsTokenEnv = "CODERUNNER_METRICS_TOKEN"

// Parse reads `coderunner serve` flags from args, falling back to the
// environment (through getenv) and then to defaults. Flags win over the
// environment.
func Parse(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	fs := flag.NewFlagSet("coderunner serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	def := func(name, fallback string) string {
		if v := getenv(env[name]); v != "" {
			return v
		}
		return fallback
	}
	addr := fs.String("addr", def("addr", ":8080"), "listen address (env CODERUNNER_ADDR)")
	dataDir := fs.String("data-dir", def("data-dir", "./data"), "data directory (env CODERUNNER_DATA_DIR)")
	dbURL := fs.String("database-url", def("database-url", ""), "postgres:// URL; empty = SQLite in the data dir (env DATABASE_URL)")
	appsDomain := fs.String("apps-domain", def("apps-domain", "localhost"), "domain deployments are served under (env CODERUNNER_APPS_DOMAIN)")
	cors := fs.String("cors-origins", def("cors-origins", "*"), "comma-separated origins allowed to call the API from a browser (env CODERUNNER_CORS_ORIGINS)")
	sessionTTL := fs.String("session-ttl", def("session-ttl", "168h"), "session token lifetime (env CODERUNNER_SESSION_TTL)")
	maxFailures := fs.String("login-max-failures", def("login-max-failures", "5"), "failed logins allowed per email and per address in the window (env CODERUNNER_LOGIN_MAX_FAILURES)")
	failureWindow := fs.String("login-failure-window", def("login-failure-window", "15m"), "window for counting failed logins (env CODERUNNER_LOGIN_FAILURE_WINDOW)")
	shutdownTimeout := fs.String("shutdown-timeout", def("shutdown-timeout", "15s"), "how long shutdown waits for in-flight requests (env CODERUNNER_SHUTDOWN_TIMEOUT)")
	logLevel := fs.String("log-level", def("log-level", "info"), "debug, info, warn or error (env CODERUNNER_LOG_LEVEL)")
	publicPort := fs.String("public-port", def("public-port", "0"), "port shown in deployment URLs; 0 = the listen port (env CODERUNNER_PUBLIC_PORT)")
	memory := fs.String("sandbox-memory-mib", def("sandbox-memory-mib", "512"), "default memory limit per replica, MiB (env CODERUNNER_SANDBOX_MEMORY_MIB)")
	cpu := fs.String("sandbox-cpu", def("sandbox-cpu", "1000"), "default CPU limit per replica, millicores (env CODERUNNER_SANDBOX_CPU_MILLICORES)")
	pids := fs.String("sandbox-pids", def("sandbox-pids", "256"), "default process limit per replica (env CODERUNNER_SANDBOX_PIDS)")
	disk := fs.String("sandbox-disk-mib", def("sandbox-disk-mib", "1024"), "disk quota per deployment (app and data dirs), MiB (env CODERUNNER_SANDBOX_DISK_MIB)")
	buildTimeout := fs.String("build-timeout", def("build-timeout", "5m"), "build time limit (env CODERUNNER_BUILD_TIMEOUT)")
	readyTimeout := fs.String("ready-timeout", def("ready-timeout", "60s"), "time an app has to accept connections (env CODERUNNER_READY_TIMEOUT)")
	stopGrace := fs.String("stop-grace", def("stop-grace", "10s"), "time between SIGTERM and SIGKILL when stopping an app (env CODERUNNER_STOP_GRACE)")
	drainTimeout := fs.String("drain-timeout", def("drain-timeout", "30s"), "how long a redeploy lets the previous revision finish its open requests (env CODERUNNER_DRAIN_TIMEOUT)")
	crashBackoff := fs.String("crash-backoff", def("crash-backoff", "1s"), "first restart delay after a crash, doubling up to 5m (env CODERUNNER_CRASH_BACKOFF)")
	maxDeployments := fs.String("max-deployments", def("max-deployments", "10"), "deployments per user (env CODERUNNER_MAX_DEPLOYMENTS_PER_USER)")
	sourceMaxMiB := fs.String("source-max-mib", def("source-max-mib", "50"), "source size limit, MiB (env CODERUNNER_SOURCE_MAX_MIB)")
	sourceMaxFiles := fs.String("source-max-files", def("source-max-files", "2000"), "source file count limit (env CODERUNNER_SOURCE_MAX_FILES)")
	sourceMaxFileMiB := fs.String("source-max-file-mib", def("source-max-file-mib", "10"), "size limit per source file, MiB (env CODERUNNER_SOURCE_MAX_FILE_MIB)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	cfg := Config{
		Addr:         *addr,
		DataDir:      *dataDir,
		DatabaseURL:  *dbURL,
		JWTSecret:    getenv(jwtSecretEnv),
		MetricsToken: getenv(metricsTokenEnv),
		AppsDomain:   strings.ToLower(strings.TrimSpace(*appsDomain)),
	}
	var errs []error
	for _, origin := range strings.Split(*cors, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, origin)
		}
	}
	parseDuration := func(name, value string) time.Duration {
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("--%s: %q is not a positive duration such as 15m or 168h", name, value))
		}
		return d
	}
	cfg.SessionTTL = parseDuration("session-ttl", *sessionTTL)
	cfg.LoginFailureWindow = parseDuration("login-failure-window", *failureWindow)
	cfg.ShutdownTimeout = parseDuration("shutdown-timeout", *shutdownTimeout)
	parseCount := func(name, value string, min int) int {
		n, err := strconv.Atoi(value)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("--%s: %q is not a whole number of at least %d", name, value, min))
		}
		return n
	}
	cfg.LoginMaxFailures = parseCount("login-max-failures", *maxFailures, 1)
	cfg.PublicPort = parseCount("public-port", *publicPort, 0)
	cfg.SandboxMemoryMiB = parseCount("sandbox-memory-mib", *memory, 16)
	cfg.SandboxCPUMillicores = parseCount("sandbox-cpu", *cpu, 10)
	cfg.SandboxPids = parseCount("sandbox-pids", *pids, 8)
	cfg.SandboxDiskMiB = parseCount("sandbox-disk-mib", *disk, 1)
	cfg.BuildTimeout = parseDuration("build-timeout", *buildTimeout)
	cfg.ReadyTimeout = parseDuration("ready-timeout", *readyTimeout)
	cfg.StopGrace = parseDuration("stop-grace", *stopGrace)
	cfg.CrashBackoff = parseDuration("crash-backoff", *crashBackoff)
	cfg.DrainTimeout = parseDuration("drain-timeout", *drainTimeout)
	cfg.MaxDeploymentsPerUser = parseCount("max-deployments", *maxDeployments, 1)
	cfg.SourceMaxMiB = parseCount("source-max-mib", *sourceMaxMiB, 1)
	cfg.SourceMaxFiles = parseCount("source-max-files", *sourceMaxFiles, 1)
	cfg.SourceMaxFileMiB = parseCount("source-max-file-mib", *sourceMaxFileMiB, 1)
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", *logLevel))
	}
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	} else if abs, err := filepath.Abs(cfg.DataDir); err != nil {
		errs = append(errs, fmt.Errorf("--data-dir: cannot make %q absolute: %w", cfg.DataDir, err))
	} else {
		cfg.DataDir = abs
	}
	if cfg.AppsDomain == "" {
		errs = append(errs, errors.New("--apps-domain must not be empty"))
	}
	if cfg.DatabaseURL != "" && !cfg.UsesPostgres() {
		errs = append(errs, fmt.Errorf("DATABASE_URL must start with postgres:// or postgresql:// (or be empty for SQLite), got %q", redactURL(cfg.DatabaseURL)))
	}
	if cfg.JWTSecret != "" && len(cfg.JWTSecret) < 32 {
		errs = append(errs, fmt.Errorf("%s must be at least 32 characters", jwtSecretEnv))
	}
	return cfg, errors.Join(errs...)
}

// UsesPostgres reports whether DatabaseURL selects PostgreSQL.
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// LogValue prints the configuration for the start-up log with secrets
// redacted.
func (c Config) LogValue() slog.Value {
	database := "sqlite (in data dir)"
	if c.DatabaseURL != "" {
		database = redactURL(c.DatabaseURL)
	}
	jwt := "generated (kept in data dir)"
	if c.JWTSecret != "" {
		jwt = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("database", database),
		slog.String("jwt_secret", jwt),
		slog.Bool("metrics_token_set", c.MetricsToken != ""),
		slog.String("apps_domain", c.AppsDomain),
		slog.Any("cors_origins", c.CORSOrigins),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Int("login_max_failures", c.LoginMaxFailures),
		slog.Duration("login_failure_window", c.LoginFailureWindow),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("public_port", c.PublicPort),
		slog.Int("sandbox_memory_mib", c.SandboxMemoryMiB),
		slog.Int("sandbox_cpu_millicores", c.SandboxCPUMillicores),
		slog.Int("sandbox_pids", c.SandboxPids),
		slog.Int("sandbox_disk_mib", c.SandboxDiskMiB),
		slog.Duration("build_timeout", c.BuildTimeout),
		slog.Duration("ready_timeout", c.ReadyTimeout),
		slog.Duration("stop_grace", c.StopGrace),
		slog.Duration("crash_backoff", c.CrashBackoff),
		slog.Duration("drain_timeout", c.DrainTimeout),
		slog.Int("max_deployments_per_user", c.MaxDeploymentsPerUser),
		slog.Int("source_max_mib", c.SourceMaxMiB),
		slog.Int("source_max_files", c.SourceMaxFiles),
		slog.Int("source_max_file_mib", c.SourceMaxFileMiB),
	)
}

// redactURL hides the password of a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL redacted]"
	}
	return u.Redacted()
}
