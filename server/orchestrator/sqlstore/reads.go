package sqlstore

import (
	"context"
	"strings"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Get returns deployment id.
func (s *Store) Get(ctx context.Context, id string) (*orchestrator.Deployment, error) {
	d := new(orchestrator.Deployment)
	err := store.DB(ctx, s.db).NewSelect().Model(d).Where("id = ?", id).Scan(ctx)
	return d, one(err, orchestrator.ErrNoDeployment, "get deployment")
}

// GetOwned returns ownerID's deployment id.
func (s *Store) GetOwned(ctx context.Context, ownerID, id string) (*orchestrator.Deployment, error) {
	d := new(orchestrator.Deployment)
	err := store.DB(ctx, s.db).NewSelect().Model(d).Where("id = ? AND owner_id = ?", id, ownerID).Scan(ctx)
	return d, one(err, orchestrator.ErrNoDeployment, "get deployment")
}

// BySlug returns the live deployment at slug.
func (s *Store) BySlug(ctx context.Context, slug string) (*orchestrator.Deployment, error) {
	d := new(orchestrator.Deployment)
	err := store.DB(ctx, s.db).NewSelect().Model(d).Where("slug = ? AND status <> ?", slug, orchestrator.StatusDestroyed).Scan(ctx)
	return d, one(err, orchestrator.ErrNoDeployment, "get deployment by slug")
}

// List returns a page of ownerID's deployments matching f, newest first.
func (s *Store) List(ctx context.Context, ownerID string, f orchestrator.ListFilter, offset, limit int) ([]orchestrator.Deployment, int, error) {
	var list []orchestrator.Deployment
	q := store.DB(ctx, s.db).NewSelect().Model(&list).Where("owner_id = ?", ownerID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	} else {
		q = q.Where("status <> ?", orchestrator.StatusDestroyed)
	}
	if f.ProjectID != "" {
		q = q.Where("project_id = ?", f.ProjectID)
	}
	if f.Runtime != "" {
		q = q.Where("runtime = ?", f.Runtime)
	}
	if f.Name != "" {
		escaped := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Name)
		q = q.Where(`name LIKE ? ESCAPE '\'`, "%"+escaped+"%")
	}
	total, err := q.Order("created_at DESC", "id DESC").Offset(int64(offset)).Limit(int64(limit)).ScanAndCount(ctx)
	return list, int(total), one(err, nil, "list deployments")
}

// CountLive counts ownerID's deployments that are not DESTROYED.
func (s *Store) CountLive(ctx context.Context, ownerID string) (int, error) {
	n, err := store.DB(ctx, s.db).NewSelect().Model((*orchestrator.Deployment)(nil)).
		Where("owner_id = ? AND status <> ?", ownerID, orchestrator.StatusDestroyed).Count(ctx)
	return int(n), one(err, nil, "count deployments")
}

// CountByStatus counts live deployments by status, ownerID's or node's.
func (s *Store) CountByStatus(ctx context.Context, ownerID, node string) ([]orchestrator.StatusCount, error) {
	var counts []orchestrator.StatusCount
	q := store.DB(ctx, s.db).NewSelect().Model((*orchestrator.Deployment)(nil)).
		Column("status").ColumnExpr("count(*) AS count").
		Where("status <> ?", orchestrator.StatusDestroyed).
		Group("status").Order("status")
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	} else {
		q = q.Where("node = ?", node)
	}
	return counts, one(q.Scan(ctx, &counts), nil, "count deployments")
}

// IDs lists the ids of ownerID's live deployments.
func (s *Store) IDs(ctx context.Context, ownerID string) ([]string, error) {
	var ids []string
	err := store.DB(ctx, s.db).NewSelect().Model((*orchestrator.Deployment)(nil)).Column("id").
		Where("owner_id = ? AND status <> ?", ownerID, orchestrator.StatusDestroyed).Scan(ctx, &ids)
	return ids, one(err, nil, "list deployment ids")
}

// OnNode lists node's live deployments, ownerID's when set, in statuses
// when given.
func (s *Store) OnNode(ctx context.Context, node, ownerID string, statuses ...orchestrator.Status) ([]orchestrator.Deployment, error) {
	var list []orchestrator.Deployment
	q := store.DB(ctx, s.db).NewSelect().Model(&list).
		Where("node = ? AND status <> ?", node, orchestrator.StatusDestroyed)
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	}
	if len(statuses) > 0 {
		q = q.Where("status IN (?)", bun.List(statuses))
	}
	return list, one(q.Scan(ctx), nil, "list the node's deployments")
}

// SourcesInUse lists the distinct source digests of live deployments and
// of their kept releases.
func (s *Store) SourcesInUse(ctx context.Context) ([]string, error) {
	var digests []string
	err := store.DB(ctx, s.db).NewRaw(`SELECT source_digest FROM deployments WHERE status <> ?
UNION SELECT r.source_digest FROM deployment_releases AS r JOIN deployments AS d ON d.id = r.deployment_id
    WHERE d.status <> ? AND NOT r.pruned`, orchestrator.StatusDestroyed, orchestrator.StatusDestroyed).Scan(ctx, &digests)
	return digests, one(err, nil, "list the sources in use")
}

// Known returns those of ids that have a row.
func (s *Store) Known(ctx context.Context, ids []string) ([]string, error) {
	var known []string
	if len(ids) == 0 {
		return nil, nil
	}
	err := store.DB(ctx, s.db).NewSelect().Model((*orchestrator.Deployment)(nil)).Column("id").
		Where("id IN (?)", bun.List(ids)).Scan(ctx, &known)
	return known, one(err, nil, "look up deployment ids")
}

// Event returns event id.
func (s *Store) Event(ctx context.Context, id string) (*orchestrator.Event, error) {
	e := new(orchestrator.Event)
	err := store.DB(ctx, s.db).NewSelect().Model(e).Where("id = ?", id).Scan(ctx)
	return e, one(err, orchestrator.ErrNoEvent, "get event")
}

// Events returns up to limit of deployment id's events from offset,
// newest first.
func (s *Store) Events(ctx context.Context, id string, offset, limit int) ([]orchestrator.Event, error) {
	var events []orchestrator.Event
	err := store.DB(ctx, s.db).NewSelect().Model(&events).Where("deployment_id = ?", id).
		Order("id DESC").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx)
	return events, one(err, nil, "list events")
}
