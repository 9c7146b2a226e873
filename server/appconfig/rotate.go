package appconfig

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Rotate seals again, with the current key, every secret and kept secret
// version sealed with another (the previous key, during a rotation), in
// one transaction: a value that cannot be opened stops it and nothing
// changes. It returns how many current secrets (of deployments and of
// projects) it sealed again. Versions
// stay: the values are the same.
func (s *Service) Rotate(ctx context.Context) (int, error) {
	n := 0
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		var rows []secretRow
		if err := tx.NewSelect().Model(&rows).Where("key_id <> ?", s.keys.CurrentID()).Scan(ctx); err != nil {
			return fmt.Errorf("list secrets to rotate: %w", err)
		}
		for i := range rows {
			r := &rows[i]
			if err := s.reseal(&r.KeyID, &r.Ciphertext, r.DeploymentID, r.Name); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model(r).Column("key_id", "ciphertext").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("store secret %s: %w", r.Name, err)
			}
			n++
		}
		var versions []versionRow
		if err := tx.NewSelect().Model(&versions).Where("key_id <> ?", s.keys.CurrentID()).Scan(ctx); err != nil {
			return fmt.Errorf("list secret versions to rotate: %w", err)
		}
		for i := range versions {
			v := &versions[i]
			if err := s.reseal(&v.KeyID, &v.Ciphertext, v.DeploymentID, v.Name); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model(v).Column("key_id", "ciphertext").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("store secret %s version %d: %w", v.Name, v.Version, err)
			}
		}
		var shared []projectSecretRow
		if err := tx.NewSelect().Model(&shared).Where("key_id <> ?", s.keys.CurrentID()).Scan(ctx); err != nil {
			return fmt.Errorf("list project secrets to rotate: %w", err)
		}
		for i := range shared {
			r := &shared[i]
			if err := s.reseal(&r.KeyID, &r.Ciphertext, projectScope(r.ProjectID), r.Name); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model(r).Column("key_id", "ciphertext").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("store project secret %s: %w", r.Name, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// reseal opens a sealed value of secret name of scope (a deployment id or
// a projectScope) and seals it again with the current key, in place.
func (s *Service) reseal(keyID, ciphertext *string, scope, name string) error {
	plain, err := s.openSealed(*keyID, *ciphertext, scope, name)
	if err != nil {
		return fmt.Errorf("%w (set %s to the key it was sealed with)", err, secrets.EnvPreviousKey)
	}
	sealed, err := s.keys.Seal(plain, secrets.AdditionalData(scope, name))
	if err != nil {
		return err
	}
	*keyID, *ciphertext = sealed.KeyID, base64.StdEncoding.EncodeToString(sealed.Data)
	return nil
}
