package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Create inserts d and its first event in one transaction.
func (s *Store) Create(ctx context.Context, d *orchestrator.Deployment, first *orchestrator.Event) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(first).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return nil
	})
	if err == nil || !store.IsUniqueViolation(err) {
		return err
	}
	// The failed transaction is gone; ask outside it which key clashed.
	taken, cerr := s.db.NewSelect().Model((*orchestrator.Deployment)(nil)).
		Where("owner_id = ? AND name = ? AND status <> ?", d.OwnerID, d.Name, orchestrator.StatusDestroyed).Exists(ctx)
	if cerr == nil && taken {
		return orchestrator.ErrNameTaken
	}
	return fmt.Errorf("%w: %w", orchestrator.ErrSlugTaken, err)
}

// Transition loads the row, applies change and stores the row and the
// event change returns, in one transaction.
func (s *Store) Transition(ctx context.Context, id string, change func(d *orchestrator.Deployment) *orchestrator.Event) (*orchestrator.Deployment, error) {
	d := new(orchestrator.Deployment)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
			return one(err, orchestrator.ErrNoDeployment, "load deployment")
		}
		event := change(d)
		if _, err := tx.NewUpdate().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update deployment: %w", err)
		}
		if _, err := tx.NewInsert().Model(event).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Update writes the named columns of d and updated_at.
func (s *Store) Update(ctx context.Context, d *orchestrator.Deployment, columns ...string) error {
	_, err := s.db.NewUpdate().Model(d).Column(append(columns, "updated_at")...).WherePK().Exec(ctx)
	return err
}

// CountRestart increments in the database rather than writing a count kept
// in memory: during a replacement two operations (the serving one and the
// new one) may count restarts of the same deployment.
func (s *Store) CountRestart(ctx context.Context, id string, now time.Time) (int, error) {
	var n int
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*orchestrator.Deployment)(nil)).
			Set("restart_count = restart_count + 1").Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return tx.NewSelect().Model((*orchestrator.Deployment)(nil)).Column("restart_count").Where("id = ?", id).Scan(ctx, &n)
	})
	return n, err
}

// Claim gives node the rows without one (from before nodes existed).
func (s *Store) Claim(ctx context.Context, node string) error {
	_, err := s.db.NewUpdate().Model((*orchestrator.Deployment)(nil)).Set("node = ?", node).
		Where("node = ''").Exec(ctx)
	return err
}
