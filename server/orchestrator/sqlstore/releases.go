package sqlstore

import (
	"context"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Releases returns a page of deployment id's releases, newest first, each
// with the email of the account that made it.
func (s *Store) Releases(ctx context.Context, id string, offset, limit int) ([]orchestrator.Release, error) {
	var list []orchestrator.Release
	err := store.DB(ctx, s.db).NewSelect().Model(&list).
		ColumnExpr("r.*").ColumnExpr("COALESCE(u.email, '') AS created_by_email").
		Join("LEFT JOIN users AS u ON u.id = r.created_by").
		Where("r.deployment_id = ?", id).
		Order("r.number DESC").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx)
	return list, one(err, nil, "list releases")
}

// Release returns release number of deployment id.
func (s *Store) Release(ctx context.Context, id string, number int64) (*orchestrator.Release, error) {
	r := new(orchestrator.Release)
	err := store.DB(ctx, s.db).NewSelect().Model(r).Where("deployment_id = ? AND number = ?", id, number).Scan(ctx)
	return r, one(err, orchestrator.ErrNoRelease, "get release")
}

// PruneReleases marks deployment id's releases numbered below below as
// pruned, returning those not pruned before.
func (s *Store) PruneReleases(ctx context.Context, id string, below int64) ([]orchestrator.Release, error) {
	var pruned []orchestrator.Release
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if err := tx.NewSelect().Model(&pruned).
			Where("deployment_id = ? AND number < ? AND NOT pruned", id, below).Scan(ctx); err != nil {
			return err
		}
		if len(pruned) == 0 {
			return nil
		}
		_, err := tx.NewUpdate().Model((*orchestrator.Release)(nil)).Set("pruned = ?", true).
			Where("deployment_id = ? AND number < ? AND NOT pruned", id, below).Exec(ctx)
		return err
	})
	return pruned, one(err, nil, "prune releases")
}

// KeptReleases lists the releases that are not pruned of node's live
// deployments of ownerID.
func (s *Store) KeptReleases(ctx context.Context, node, ownerID string) ([]orchestrator.Release, error) {
	var list []orchestrator.Release
	err := store.DB(ctx, s.db).NewSelect().Model(&list).
		Join("JOIN deployments AS d ON d.id = r.deployment_id").
		Where("d.node = ? AND d.owner_id = ? AND d.status <> ?", node, ownerID, orchestrator.StatusDestroyed).
		Where("NOT r.pruned").Scan(ctx)
	return list, one(err, nil, "list kept releases")
}
