package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/coderunner/coderunner/server/manifest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// manifestData opens the data a manifest deployment's next version will
// use, so that its migration applies (or is refused) before anything
// stops: manifest.db in its data dir, or its PostgreSQL database reached
// as the app reaches it (its DATABASE_URL through its own forward). nil
// when there is nothing yet: the new version creates its tables.
func (m *Manager) manifestData(ctx context.Context, d *Deployment, next *manifest.Manifest) (*sql.DB, error) {
	if next.Engine() != manifest.Postgres {
		if _, err := os.Stat(filepath.Join(m.dataDir(d.ID), manifest.DBFile)); err != nil {
			return nil, nil
		}
		db, err := manifest.OpenDB(ctx, m.dataDir(d.ID))
		if err != nil {
			return nil, fmt.Errorf("open the deployment's data: %w", err)
		}
		return db, nil
	}
	if m.cfg.Attachments == nil {
		return nil, nil // checkNeeds has refused the redeploy already
	}
	a, err := m.cfg.Attachments.Attached(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	var dial func(context.Context) (net.Conn, error)
	for _, f := range a.Forwards {
		if f.Port == 5432 {
			dial = f.Dial
		}
	}
	url := a.Secrets["DATABASE_URL"]
	if dial == nil || url == "" {
		return nil, nil
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("the deployment's DATABASE_URL: %w", err)
	}
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }
	return stdlib.OpenDB(*cfg), nil
}
