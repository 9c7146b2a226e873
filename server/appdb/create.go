package appdb

import (
	"context"
	"sync"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// ForCreate returns what a new deployment runs, in the transaction that
// stores it, to get databases of engines before its first start, and
// undo, which drops what it made if the create failed after all.
func (s *Service) ForCreate(ctx context.Context, engines []Engine) (attach func(context.Context, *orchestrator.Deployment) error, undo func(), err error) {
	if len(engines) == 0 {
		return nil, func() {}, nil
	}
	backends := make(map[Engine]Backend, len(engines))
	for _, e := range engines {
		if !e.known() {
			return nil, nil, errs.Field(errs.KindInvalidArgument, "databases", "unknown database engine %q", e)
		}
		b, err := s.server(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		backends[e] = b
	}
	type made struct {
		b    Backend
		name string
	}
	var mu sync.Mutex
	var provisioned []made
	attach = func(ctx context.Context, d *orchestrator.Deployment) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			for _, e := range engines {
				r := &row{DeploymentID: d.ID, Engine: e, Name: nameFor(d.ID), Role: nameFor(d.ID) + "_1", ConnectionLimit: s.limits.Connections, CreatedAt: s.now()}
				password, err := s.seal(r)
				if err != nil {
					return err
				}
				b := backends[e]
				if err := b.Provision(ctx, r.Name, r.Role, password, s.limits); err != nil {
					return s.public(err)
				}
				mu.Lock()
				provisioned = append(provisioned, made{b, r.Name})
				mu.Unlock()
				if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	undo = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range provisioned {
			s.drop(ctx, m.b, m.name)
		}
	}
	return attach, undo, nil
}
