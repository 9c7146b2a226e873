package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// setting is one flag of `coderunner serve` with its environment twin.
type setting struct {
	flag     string // without the leading "--"
	env      string
	fallback string // used when neither the flag nor the environment is set
	usage    string // the help text; Parse adds "(env …)"
	set      setFunc
}

// setFunc stores a setting's value in the Config it was made for, or says
// why the value is not valid (the field may still be written).
type setFunc func(flag, value string) error

// settings lists every flag of c. Parse reports invalid values in this
// order.
func settings(c *Config) []setting {
	return []setting{
		{"addr", "CODERUNNER_ADDR", ":8080", "listen address", text(&c.Addr)},
		{"data-dir", "CODERUNNER_DATA_DIR", "./data", "data directory", text(&c.DataDir)},
		{"database-url", "DATABASE_URL", "", "postgres:// URL; empty = SQLite in the data dir", text(&c.DatabaseURL)},
		{"apps-postgres-url", "CODERUNNER_APPS_POSTGRES_URL", "", "admin postgres:// URL of the server for apps' databases; empty = CodeRunner's own in the data dir", text(&c.AppsPostgresURL)},
		{"apps-redis-url", "CODERUNNER_APPS_REDIS_URL", "", "admin redis:// URL of the Redis (6+) for apps' Redis databases; empty = CodeRunner's own in the data dir", text(&c.AppsRedisURL)},
		{"database-connections", "CODERUNNER_DATABASE_CONNECTIONS", "20", "connection limit of each app database", count(&c.DatabaseConnections, 1)},
		{"database-max-mib", "CODERUNNER_DATABASE_MAX_MIB", "1024", "size quota of each app database, MiB (over it: read-only); 0 = none", count(&c.DatabaseMaxMiB, 0)},
		{"apps-domain", "CODERUNNER_APPS_DOMAIN", "localhost", "domain deployments are served under", domain(&c.AppsDomain)},
		{"cors-origins", "CODERUNNER_CORS_ORIGINS", "*", "comma-separated origins allowed to call the API from a browser", list(&c.CORSOrigins)},
		{"session-ttl", "CODERUNNER_SESSION_TTL", "168h", "session token lifetime", duration(&c.SessionTTL)},
		{"login-failure-window", "CODERUNNER_LOGIN_FAILURE_WINDOW", "15m", "window for counting failed logins", duration(&c.LoginFailureWindow)},
		{"shutdown-timeout", "CODERUNNER_SHUTDOWN_TIMEOUT", "15s", "how long shutdown waits for in-flight requests", duration(&c.ShutdownTimeout)},
		{"login-max-failures", "CODERUNNER_LOGIN_MAX_FAILURES", "5", "failed logins allowed per email and per address in the window", count(&c.LoginMaxFailures, 1)},
		{"public-port", "CODERUNNER_PUBLIC_PORT", "0", "port shown in deployment URLs; 0 = the listen port", count(&c.PublicPort, 0)},
		{"sandbox-memory-mib", "CODERUNNER_SANDBOX_MEMORY_MIB", "512", "default memory limit per replica, MiB", count(&c.SandboxMemoryMiB, 16)},
		{"sandbox-cpu", "CODERUNNER_SANDBOX_CPU_MILLICORES", "1000", "default CPU limit per replica, millicores", count(&c.SandboxCPUMillicores, 10)},
		{"sandbox-pids", "CODERUNNER_SANDBOX_PIDS", "256", "default process limit per replica", count(&c.SandboxPids, 8)},
		{"sandbox-disk-mib", "CODERUNNER_SANDBOX_DISK_MIB", "1024", "disk quota per deployment (app and data dirs), MiB", count(&c.SandboxDiskMiB, 1)},
		{"build-timeout", "CODERUNNER_BUILD_TIMEOUT", "5m", "build time limit", duration(&c.BuildTimeout)},
		{"ready-timeout", "CODERUNNER_READY_TIMEOUT", "60s", "time an app has to accept connections", duration(&c.ReadyTimeout)},
		{"stop-grace", "CODERUNNER_STOP_GRACE", "10s", "time between SIGTERM and SIGKILL when stopping an app", duration(&c.StopGrace)},
		{"crash-backoff", "CODERUNNER_CRASH_BACKOFF", "1s", "first restart delay after a crash, doubling up to 5m", duration(&c.CrashBackoff)},
		{"drain-timeout", "CODERUNNER_DRAIN_TIMEOUT", "30s", "how long a redeploy lets the previous revision finish its open requests", duration(&c.DrainTimeout)},
		{"keep-releases", "CODERUNNER_KEEP_RELEASES", "10", "releases per deployment whose source and build are kept for rollback", count(&c.KeepReleases, 1)},
		{"audit-retention", "CODERUNNER_AUDIT_RETENTION", "2160h", "how long audit events are kept (2160h = 90 days)", duration(&c.AuditRetention)},
		{"max-replicas", "CODERUNNER_MAX_REPLICAS", "10", "replica quota of each deployment, fixed or autoscaled", count(&c.MaxReplicas, 1)},
		{"max-held-requests", "CODERUNNER_MAX_HELD_REQUESTS", "1000", "requests held per deployment while it wakes from idle (past it: 503 with Retry-After)", count(&c.MaxHeldRequests, 1)},
		{"warm-wake", "CODERUNNER_WARM_WAKE", "true", "keep a sandbox prepared for each sleeping deployment, so a wake costs only the app's start (a few MiB each)", boolean(&c.WarmWake)},
		{"max-deployments", "CODERUNNER_MAX_DEPLOYMENTS_PER_USER", "10", "deployments per user", count(&c.MaxDeploymentsPerUser, 1)},
		{"source-max-mib", "CODERUNNER_SOURCE_MAX_MIB", "50", "source size limit, MiB", count(&c.SourceMaxMiB, 1)},
		{"source-max-files", "CODERUNNER_SOURCE_MAX_FILES", "2000", "source file count limit", count(&c.SourceMaxFiles, 1)},
		{"source-max-file-mib", "CODERUNNER_SOURCE_MAX_FILE_MIB", "10", "size limit per source file, MiB", count(&c.SourceMaxFileMiB, 1)},
		{"log-level", "CODERUNNER_LOG_LEVEL", "info", "debug, info, warn or error", level(&c.LogLevel)},
	}
}

// boolean stores true or false (also 1/0, t/f).
func boolean(field *bool) setFunc {
	return func(name, value string) error {
		v, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("--%s: %q is not true or false", name, value)
		}
		*field = v
		return nil
	}
}

// text stores the value as it is; Config.validate checks what needs it.
func text(field *string) setFunc {
	return func(_, value string) error {
		*field = value
		return nil
	}
}

// domain stores a domain name, trimmed and in lower case.
func domain(field *string) setFunc {
	return func(_, value string) error {
		*field = strings.ToLower(strings.TrimSpace(value))
		return nil
	}
}

// list stores the non-empty items of a comma-separated list.
func list(field *[]string) setFunc {
	return func(_, value string) error {
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*field = append(*field, item)
			}
		}
		return nil
	}
}

// duration stores a positive duration.
func duration(field *time.Duration) setFunc {
	return func(flag, value string) error {
		d, err := time.ParseDuration(value)
		*field = d
		if err != nil || d <= 0 {
			return fmt.Errorf("--%s: %q is not a positive duration such as 15m or 168h", flag, value)
		}
		return nil
	}
}

// count stores a whole number no smaller than least.
func count(field *int, least int) setFunc {
	return func(flag, value string) error {
		n, err := strconv.Atoi(value)
		*field = n
		if err != nil || n < least {
			return fmt.Errorf("--%s: %q is not a whole number of at least %d", flag, value, least)
		}
		return nil
	}
}

// level stores a log level by its name.
func level(field *slog.Level) setFunc {
	return func(flag, value string) error {
		if err := field.UnmarshalText([]byte(value)); err != nil {
			return fmt.Errorf("--%s: %q is not one of debug, info, warn, error", flag, value)
		}
		return nil
	}
}
