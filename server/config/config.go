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
	"strconv"
	"strings"
	"time"
)

// Config is CodeRunner's whole configuration.
type Config struct {
	// Addr is the host:port the server listens on.
	Addr string
	// DataDir holds the SQLite database, the generated JWT secret and,
	// later, deployments' source and data.
	DataDir string
	// DatabaseURL selects PostgreSQL when it is a postgres:// URL; empty
	// means SQLite in DataDir.
	DatabaseURL string
	// JWTSecret signs session tokens; empty means generate one and keep it
	// in DataDir.
	JWTSecret string
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
}

// jwtSecretEnv is read from the environment only: a secret on the command
// line would show up in ps and shell history.
const jwtSecretEnv = "CODERUNNER_JWT_SECRET"

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
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	cfg := Config{
		Addr:        *addr,
		DataDir:     *dataDir,
		DatabaseURL: *dbURL,
		JWTSecret:   getenv(jwtSecretEnv),
		AppsDomain:  strings.ToLower(strings.TrimSpace(*appsDomain)),
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
	n, err := strconv.Atoi(*maxFailures)
	if err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("--login-max-failures: %q is not a positive whole number", *maxFailures))
	}
	cfg.LoginMaxFailures = n
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", *logLevel))
	}
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
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
		slog.String("apps_domain", c.AppsDomain),
		slog.Any("cors_origins", c.CORSOrigins),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Int("login_max_failures", c.LoginMaxFailures),
		slog.Duration("login_failure_window", c.LoginFailureWindow),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("log_level", c.LogLevel.String()),
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
