package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Create inserts d, its first event and its first release in one
// transaction.
func (s *Store) Create(ctx context.Context, d *orchestrator.Deployment, first *orchestrator.Event, release *orchestrator.Release) error {
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(first).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return insertRelease(ctx, tx, release)
	})
	if err == nil || !store.IsUniqueViolation(err) {
		return err
	}
	// The failed transaction is gone; ask outside it which key clashed.
	taken, cerr := store.DB(ctx, s.db).NewSelect().Model((*orchestrator.Deployment)(nil)).
		Where("owner_id = ? AND name = ? AND status <> ?", d.OwnerID, d.Name, orchestrator.StatusDestroyed).Exists(ctx)
	if cerr == nil && taken {
		return orchestrator.ErrNameTaken
	}
	return fmt.Errorf("%w: %w", orchestrator.ErrSlugTaken, err)
}

// Transition loads the row, applies change and stores the row, the event
// and the release change returns, in one transaction. A change that moves
// the deployment back to an earlier release discards the later ones.
func (s *Store) Transition(ctx context.Context, id string, change func(d *orchestrator.Deployment) (*orchestrator.Event, *orchestrator.Release)) (*orchestrator.Deployment, error) {
	d := new(orchestrator.Deployment)
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if err := tx.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
			return one(err, orchestrator.ErrNoDeployment, "load deployment")
		}
		current := d.Release
		event, release := change(d)
		if _, err := tx.NewUpdate().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update deployment: %w", err)
		}
		if d.Release < current {
			if _, err := tx.NewDelete().Model((*orchestrator.Release)(nil)).
				Where("deployment_id = ? AND number > ?", d.ID, d.Release).Exec(ctx); err != nil {
				return fmt.Errorf("discard releases: %w", err)
			}
		}
		if _, err := tx.NewInsert().Model(event).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return insertRelease(ctx, tx, release)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Update writes the named columns of d and updated_at and, with a
// release, inserts it and writes d's release number, in one transaction.
func (s *Store) Update(ctx context.Context, d *orchestrator.Deployment, release *orchestrator.Release, columns ...string) error {
	columns = append(columns, "updated_at")
	if release != nil {
		columns = append(columns, "release_number")
	}
	return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewUpdate().Model(d).Column(columns...).WherePK().Exec(ctx); err != nil {
			return err
		}
		return insertRelease(ctx, tx, release)
	})
}

// insertRelease inserts release, if there is one.
func insertRelease(ctx context.Context, tx bun.IDB, release *orchestrator.Release) error {
	if release == nil {
		return nil
	}
	if _, err := tx.NewInsert().Model(release).Exec(ctx); err != nil {
		return fmt.Errorf("insert release: %w", err)
	}
	return nil
}

// CountRestart increments in the database rather than writing a count kept
// in memory: during a replacement two operations (the serving one and the
// new one) may count restarts of the same deployment.
func (s *Store) CountRestart(ctx context.Context, id string, now time.Time) (int, error) {
	var n int
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewUpdate().Model((*orchestrator.Deployment)(nil)).
			Set("restart_count = restart_count + 1").Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return tx.NewSelect().Model((*orchestrator.Deployment)(nil)).Column("restart_count").Where("id = ?", id).Scan(ctx, &n)
	})
	return n, err
}

// InTx implements orchestrator.Store.InTx with store.Tx: writes through
// the context fn receives join its transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return store.Tx(ctx, s.db, func(ctx context.Context, _ bun.IDB) error { return fn(ctx) })
}

// Claim gives node the rows without one (from before nodes existed).
func (s *Store) Claim(ctx context.Context, node string) error {
	_, err := store.DB(ctx, s.db).NewUpdate().Model((*orchestrator.Deployment)(nil)).Set("node = ?", node).
		Where("node = ''").Exec(ctx)
	return err
}
