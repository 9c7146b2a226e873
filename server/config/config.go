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
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/secrets"
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
	// AppsPostgresURL is an admin URL of the PostgreSQL server that hosts
	// apps' databases; empty means CodeRunner's own, under DataDir.
	AppsPostgresURL string
	// AppsRedisURL is an admin URL of the Redis server that hosts apps'
	// Redis databases; empty means CodeRunner's own in the data dir.
	AppsRedisURL string
	// DatabaseMaxMiB is each app database's size quota; 0 means none.
	DatabaseMaxMiB int
	// DatabaseConnections is the connection limit of each app database's
	// role.
	DatabaseConnections int
	// JWTSecret signs session tokens; empty means generate one and keep it
	// in DataDir.
	JWTSecret string
	// SecretKey seals deployments' secrets (32 bytes, base64); empty means
	// the key generated in DataDir. SecretKeyPrevious, during a rotation,
	// opens what the previous key sealed. Both from the environment only.
	SecretKey, SecretKeyPrevious string
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
	// MaxReplicas caps each deployment's replicas (the replica quota).
	MaxReplicas int
	// MaxHeldRequests bounds the requests held per deployment while it
	// wakes from idle.
	MaxHeldRequests int
	// WarmWake keeps a sandbox prepared for each sleeping deployment.
	WarmWake bool
	// KeepReleases is how many of each deployment's latest releases keep
	// their source and build, so they can be rolled back to.
	KeepReleases int
	// AuditRetention is how long audit events are kept.
	AuditRetention time.Duration
	// Source limits: total MiB, file count, MiB per file.
	SourceMaxMiB     int
	SourceMaxFiles   int
	SourceMaxFileMiB int
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
	var cfg Config
	table := settings(&cfg)
	fs := flag.NewFlagSet("coderunner serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	values := make([]*string, len(table))
	for i, s := range table {
		def := s.fallback
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	for i, s := range table {
		if err := s.set(s.flag, *values[i]); err != nil {
			errs = append(errs, err)
		}
	}
	cfg.JWTSecret = getenv(jwtSecretEnv)
	cfg.MetricsToken = getenv(metricsTokenEnv)
	cfg.SecretKey, cfg.SecretKeyPrevious = getenv(secrets.EnvKey), getenv(secrets.EnvPreviousKey)
	errs = append(errs, cfg.validate()...)
	return cfg, errors.Join(errs...)
}

// validate checks what no single flag can and makes DataDir absolute.
func (c *Config) validate() []error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	} else if abs, err := filepath.Abs(c.DataDir); err != nil {
		errs = append(errs, fmt.Errorf("--data-dir: cannot make %q absolute: %w", c.DataDir, err))
	} else {
		c.DataDir = abs
	}
	if c.AppsDomain == "" {
		errs = append(errs, errors.New("--apps-domain must not be empty"))
	}
	if c.DatabaseURL != "" && !c.UsesPostgres() {
		errs = append(errs, fmt.Errorf("DATABASE_URL must start with postgres:// or postgresql:// (or be empty for SQLite), got %q", redactURL(c.DatabaseURL)))
	}
	if u := c.AppsPostgresURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, fmt.Errorf("--apps-postgres-url must start with postgres:// or postgresql:// (or be empty for CodeRunner's own), got %q", redactURL(u)))
	}
	if u := c.AppsRedisURL; u != "" && !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "unix://") {
		errs = append(errs, fmt.Errorf("--apps-redis-url must start with redis:// or unix:// (or be empty for CodeRunner's own), got %q", redactURL(u)))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, fmt.Errorf("%s must be at least 32 characters", jwtSecretEnv))
	}
	return errs
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
	appsPostgres := "embedded (in data dir)"
	if c.AppsPostgresURL != "" {
		appsPostgres = redactURL(c.AppsPostgresURL)
	}
	appsRedis := "embedded (in data dir)"
	if c.AppsRedisURL != "" {
		appsRedis = redactURL(c.AppsRedisURL)
	}
	jwt := "generated (kept in data dir)"
	if c.JWTSecret != "" {
		jwt = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("database", database),
		slog.String("apps_postgres", appsPostgres),
		slog.String("apps_redis", appsRedis),
		slog.Int("database_connections", c.DatabaseConnections),
		slog.Int("database_max_mib", c.DatabaseMaxMiB),
		slog.String("jwt_secret", jwt),
		slog.Bool("metrics_token_set", c.MetricsToken != ""),
		slog.Bool("secret_key_set", c.SecretKey != ""),
		slog.Bool("secret_key_previous_set", c.SecretKeyPrevious != ""),
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
		slog.Int("max_replicas", c.MaxReplicas),
		slog.Int("max_held_requests", c.MaxHeldRequests),
		slog.Bool("warm_wake", c.WarmWake),
		slog.Int("keep_releases", c.KeepReleases),
		slog.Duration("audit_retention", c.AuditRetention),
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
