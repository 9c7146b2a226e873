package appdb

import (
	"context"
	"fmt"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
)

// Attached gives deployment id's replicas their databases: each engine's
// variables (passwords and the URLs holding them masked like secrets) and
// a forward of its port on 127.0.0.1 inside the sandbox to the database's
// server.
func (s *Service) Attached(ctx context.Context, id string) (*orchestrator.Attachment, error) {
	var rows []row
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load databases: %w", err)
	}
	a := &orchestrator.Attachment{Env: map[string]string{}, Secrets: map[string]string{}}
	for i := range rows {
		r := &rows[i]
		b, err := s.servers(ctx, r.Engine)
		if err != nil {
			return nil, fmt.Errorf("the %s server is not available: %w", r.Engine, err)
		}
		password, err := s.open(r)
		if err != nil {
			return nil, err
		}
		view := b.App()
		env, secrets := view.Variables(r.Name, r.Role, password)
		for k, v := range env {
			a.Env[k] = v
		}
		for k, v := range secrets {
			a.Secrets[k] = v
		}
		dial := b.Dial
		if view.CapInForwarder {
			dial = s.conns.capped(r.Name, r.ConnectionLimit, dial)
		}
		a.Forwards = append(a.Forwards, orchestrator.Forward{Port: view.Port, Dial: dial})
		a.Kinds = append(a.Kinds, string(r.Engine))
	}
	return a, nil
}
