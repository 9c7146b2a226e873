package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/appdb/pgembed"
	"github.com/coderunner/coderunner/server/appdb/redisembed"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// appDatabases are the servers apps' databases live on. PostgreSQL: the
// one --apps-postgres-url names, or else CodeRunner's own cluster under
// <data-dir>/postgres, started on first use (the first database, or the
// first start of a deployment that has one) and stopped on shutdown. A
// server that never gives out a database never runs initdb. Redis
// likewise (--apps-redis-url, or <data-dir>/redis).
type appDatabases struct {
	cfg    config.Config
	logger *slog.Logger

	mu      sync.Mutex
	server  *appdb.Postgres
	cluster *pgembed.Cluster // nil with an external server
	redis   *appdb.Redis
	redisd  *redisembed.Server // nil with an external Redis
}

// get returns engine's server, made (and for an embedded one, started)
// on first use.
func (a *appDatabases) get(ctx context.Context, engine appdb.Engine) (appdb.Backend, error) {
	switch engine {
	case appdb.EnginePostgres:
		return a.postgres(ctx)
	case appdb.EngineRedis:
		return a.redisServer(ctx)
	}
	return nil, fmt.Errorf("no server for database engine %q", engine)
}

// redisServer returns the apps' Redis: the one --apps-redis-url names,
// or else CodeRunner's own under <data-dir>/redis, started on first use.
func (a *appDatabases) redisServer(ctx context.Context) (*appdb.Redis, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.redis != nil {
		return a.redis, nil
	}
	if a.cfg.AppsRedisURL != "" {
		opts, err := appdb.ParseRedisURL(a.cfg.AppsRedisURL)
		if err != nil {
			return nil, err
		}
		a.redis = appdb.NewRedis(opts, nil)
		return a.redis, nil
	}
	// Starting outlives the call that asked.
	server, err := redisembed.Start(context.WithoutCancel(ctx), redisembed.Options{Dir: filepath.Join(a.cfg.DataDir, "redis"), Logger: a.logger})
	if err != nil {
		return nil, err
	}
	a.redis = appdb.NewRedis(&redis.Options{Network: "unix", Addr: server.Socket(), Username: "default", Password: server.AdminPassword()}, server.Dial)
	a.redisd = server
	return a.redis, nil
}

// postgres returns the apps' PostgreSQL.
func (a *appDatabases) postgres(ctx context.Context) (*appdb.Postgres, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.server != nil {
		return a.server, nil
	}
	if a.cfg.AppsPostgresURL != "" {
		pg, err := appdb.NewPostgres(a.cfg.AppsPostgresURL, nil, "")
		if err != nil {
			return nil, err
		}
		a.server = pg
		return pg, nil
	}
	// Starting (initdb the first time) outlives the call that asked.
	cluster, err := pgembed.Start(context.WithoutCancel(ctx), pgembed.Options{Dir: filepath.Join(a.cfg.DataDir, "postgres"), Logger: a.logger})
	if err != nil {
		return nil, err
	}
	pg, err := appdb.NewPostgres(cluster.AdminURL(), cluster.Dial, cluster.BinDir())
	if err != nil {
		_ = cluster.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	a.server, a.cluster = pg, cluster
	return pg, nil
}

// redisHealth reports the apps' Redis for /api/health.
func (a *appDatabases) redisHealth(context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.cfg.AppsRedisURL != "":
		return "external", nil
	case a.redisd == nil:
		return "embedded, not started (it starts with the first Redis database)", nil
	default:
		return "embedded", a.redisd.Health()
	}
}

// health reports the apps' PostgreSQL for /api/health.
func (a *appDatabases) health(context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.cfg.AppsPostgresURL != "":
		return "external", nil
	case a.cluster == nil:
		return "embedded, not started (it starts with the first database)", nil
	default:
		return "embedded", a.cluster.Health()
	}
}

// close stops the embedded servers that run and closes admin connections.
func (a *appDatabases) close(ctx context.Context) {
	a.mu.Lock()
	cluster, client, redisd := a.cluster, a.redis, a.redisd
	a.mu.Unlock()
	if client != nil {
		_ = client.Close()
	}
	if redisd != nil {
		if err := redisd.Close(ctx); err != nil {
			a.logger.Warn("stop the apps' Redis", "error", err)
		}
	}
	if cluster != nil {
		if err := cluster.Close(ctx); err != nil {
			a.logger.Warn("stop the apps' PostgreSQL", "error", err)
		}
	}
}

// newDatabases returns the service that gives deployments databases and
// the server they live on.
func newDatabases(cfg config.Config, db *bun.DB, keys *secrets.Keyring, logger *slog.Logger) (*appdb.Service, *appDatabases) {
	servers := &appDatabases{cfg: cfg, logger: logger}
	limits := appdb.Limits{Connections: cfg.DatabaseConnections, StatementTimeout: 30 * time.Second, IdleInTxTimeout: time.Minute,
		MaxBytes: int64(cfg.DatabaseMaxMiB) << 20}
	return appdb.New(db, keys, servers.get, limits, logger), servers
}
