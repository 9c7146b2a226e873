package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/uptrace/bun"
)

// appDatabases is the server apps' databases live on: the one
// --apps-postgres-url names.
type appDatabases struct {
	cfg    config.Config
	logger *slog.Logger

	mu     sync.Mutex
	server *appdb.Postgres
}

// get returns the server, made on first use.
func (a *appDatabases) get(context.Context) (*appdb.Postgres, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.server != nil {
		return a.server, nil
	}
	if a.cfg.AppsPostgresURL == "" {
		return nil, errors.New("no PostgreSQL server for apps is configured (--apps-postgres-url)")
	}
	pg, err := appdb.NewPostgres(a.cfg.AppsPostgresURL, nil)
	if err != nil {
		return nil, err
	}
	a.server = pg
	return pg, nil
}

// newDatabases returns the service that gives deployments databases.
func newDatabases(cfg config.Config, db *bun.DB, keys *secrets.Keyring, logger *slog.Logger) *appdb.Service {
	servers := &appDatabases{cfg: cfg, logger: logger}
	limits := appdb.Limits{Connections: cfg.DatabaseConnections, StatementTimeout: 30 * time.Second, IdleInTxTimeout: time.Minute}
	return appdb.New(db, keys, servers.get, limits, logger)
}
