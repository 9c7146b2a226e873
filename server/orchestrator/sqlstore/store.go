// Package sqlstore keeps the orchestrator's deployments and their events
// in the server's database (SQLite or PostgreSQL) through bun. It is the
// orchestrator.Store the server runs with.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Store is an orchestrator.Store on a bun database.
type Store struct {
	db *bun.DB
}

var _ orchestrator.Store = (*Store)(nil)

// New returns a Store on db, whose schema store.Open has migrated.
func New(db *bun.DB) *Store {
	return &Store{db: db}
}

// Announce sends payload on orchestrator.EventsChannel. Only PostgreSQL
// is shared between servers; on SQLite there is nobody to tell.
func (s *Store) Announce(ctx context.Context, payload string) error {
	if !store.IsPostgres(s.db) {
		return nil
	}
	_, err := store.DB(ctx, s.db).ExecContext(ctx, "SELECT pg_notify(?, ?)", orchestrator.EventsChannel, payload)
	return err
}

// one scans a single row into dst, mapping "no row" to missing.
func one(err error, missing error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return missing
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
