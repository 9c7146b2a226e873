package appconfig

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/coderunner/coderunner/server/secrets"
	"github.com/uptrace/bun"
)

// Rotate seals again, with the current key, every secret sealed with
// another (the previous key, during a rotation), in one transaction: a
// value that cannot be opened stops it and nothing changes. It returns how
// many it sealed again. The version stays: the value is the same.
func (s *Service) Rotate(ctx context.Context) (int, error) {
	n := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rows []secretRow
		if err := tx.NewSelect().Model(&rows).Where("key_id <> ?", s.keys.CurrentID()).Scan(ctx); err != nil {
			return fmt.Errorf("list secrets to rotate: %w", err)
		}
		for i := range rows {
			r := &rows[i]
			plain, err := s.open(r)
			if err != nil {
				return fmt.Errorf("%w (set %s to the key it was sealed with)", err, secrets.EnvPreviousKey)
			}
			sealed, err := s.keys.Seal(plain, secrets.AdditionalData(r.DeploymentID, r.Name))
			if err != nil {
				return err
			}
			r.KeyID, r.Ciphertext = sealed.KeyID, base64.StdEncoding.EncodeToString(sealed.Data)
			if _, err := tx.NewUpdate().Model(r).Column("key_id", "ciphertext").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("store secret %s: %w", r.Name, err)
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
