package appconfig

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Versions gives the version of each of deployment id's current secrets:
// what a release records instead of their values.
func (s *Service) Versions(ctx context.Context, id string) (map[string]int64, error) {
	var rows []secretRow
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Column("name", "version").Where("deployment_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load secret versions: %w", err)
	}
	versions := make(map[string]int64, len(rows))
	for _, r := range rows {
		versions[r.Name] = r.Version
	}
	return versions, nil
}

// Restore makes deployment id's secrets exactly versions, in one
// transaction: secrets the map does not name are removed, the others set
// to the named version's sealed value. A version that is no longer kept
// fails it and nothing changes.
func (s *Service) Restore(ctx context.Context, id string, versions map[string]int64) error {
	return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewDelete().Model((*secretRow)(nil)).Where("deployment_id = ?", id)
		if len(versions) > 0 {
			q = q.Where("name NOT IN (?)", bun.List(names(versions)))
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("remove secrets: %w", err)
		}
		for name, version := range versions {
			if err := s.restoreOne(ctx, tx, id, name, version); err != nil {
				return err
			}
		}
		return nil
	})
}

// restoreOne makes version the current value of secret name.
func (s *Service) restoreOne(ctx context.Context, tx bun.IDB, id, name string, version int64) error {
	kept := new(versionRow)
	err := tx.NewSelect().Model(kept).Where("deployment_id = ? AND name = ? AND version = ?", id, name, version).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Field(errs.KindFailedPrecondition, "release", "version %d of secret %s is no longer kept", version, name)
	}
	if err != nil {
		return fmt.Errorf("load secret version: %w", err)
	}
	row := &secretRow{DeploymentID: id, Name: name, KeyID: kept.KeyID, Ciphertext: kept.Ciphertext,
		Version: version, UpdatedBy: kept.CreatedBy, CreatedAt: kept.CreatedAt, UpdatedAt: s.now()}
	_, err = tx.NewInsert().Model(row).
		On("CONFLICT (deployment_id, name) DO UPDATE").
		Set("key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext, version = EXCLUDED.version").
		Set("updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("restore secret %s: %w", name, err)
	}
	return nil
}

// Retain removes the kept versions of deployment id's secrets that are
// neither current nor named by one of keep.
func (s *Service) Retain(ctx context.Context, id string, keep []map[string]int64) error {
	current, err := s.Versions(ctx, id)
	if err != nil {
		return err
	}
	wanted := map[versionKey]bool{}
	for _, versions := range append(keep, current) {
		for name, v := range versions {
			wanted[versionKey{name, v}] = true
		}
	}
	var rows []versionRow
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Column("name", "version").Where("deployment_id = ?", id).Scan(ctx); err != nil {
		return fmt.Errorf("list secret versions: %w", err)
	}
	for _, r := range rows {
		if wanted[versionKey{r.Name, r.Version}] {
			continue
		}
		if _, err := store.DB(ctx, s.db).NewDelete().Model((*versionRow)(nil)).
			Where("deployment_id = ? AND name = ? AND version = ?", id, r.Name, r.Version).Exec(ctx); err != nil {
			return fmt.Errorf("remove secret version: %w", err)
		}
	}
	return nil
}

type versionKey struct {
	name    string
	version int64
}

func names(versions map[string]int64) []string {
	list := make([]string, 0, len(versions))
	for name := range versions {
		list = append(list, name)
	}
	return list
}
