package appdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Rotate gives ownerID's deployment id's database of engine ("": its only
// one) new credentials without downtime: the next login role with a new
// password; a restart with them (a new release); and, once no replica
// runs with the old ones, every older login role dropped.
func (s *Service) Rotate(ctx context.Context, ownerID, id string, engine Engine) (*Database, error) {
	r, err := s.find(ctx, ownerID, id, engine)
	if err != nil {
		return nil, err
	}
	pg, err := s.server(ctx, r.Engine)
	if err != nil {
		return nil, err
	}
	next := *r
	next.Role = nextLogin(r.Name, r.Role)
	password, err := s.seal(&next)
	if err != nil {
		return nil, err
	}
	if err := pg.AddLogin(ctx, next.Name, next.Role, password, s.limits); err != nil {
		return nil, s.public(err)
	}
	dropOld := func(served bool) {
		if !served {
			s.logger.Warn("database credentials rotated, but the restart failed: the old login stays until the next rotation", "database", next.Name)
			return
		}
		if err := pg.RemoveLoginsExcept(context.WithoutCancel(ctx), next.Name, next.Role); err != nil {
			s.logger.Warn("drop the old database login", "database", next.Name, "error", err)
		}
	}
	_, err = s.deployments.ReconfigureThen(ctx, ownerID, id, "database "+string(r.Engine)+" credentials rotated", func(ctx context.Context, _ *orchestrator.Deployment) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.NewUpdate().Model(&next).Column("role", "key_id", "ciphertext").WherePK().Exec(ctx)
			return err
		})
	}, dropOld)
	if err != nil {
		if rmErr := pg.RemoveLogin(context.WithoutCancel(ctx), next.Name, next.Role); rmErr != nil {
			s.logger.Warn("drop the login of a rotation that failed", "database", next.Name, "error", rmErr)
		}
		return nil, s.public(err)
	}
	return s.describe(ctx, pg, &next)
}

// nextLogin is the login role after current: <name>_<n+1>.
func nextLogin(name, current string) string {
	n, err := strconv.Atoi(strings.TrimPrefix(current, name+"_"))
	if err != nil {
		n = 0
	}
	return fmt.Sprintf("%s_%d", name, n+1)
}
