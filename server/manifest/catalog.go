package manifest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// catalog is every table and column the runtime ever created in a database,
// live or removed, with the definition it last had. It is stored as JSON in
// the meta table beside the manifest it belongs to.
type catalog struct {
	Format   int         `json:"format"`
	Entities []catEntity `json:"entities"`
}

type catEntity struct {
	Name    string     `json:"name"`
	Removed bool       `json:"removed,omitempty"`
	Fields  []catField `json:"fields"`
}

type catField struct {
	Field
	Removed bool `json:"removed,omitempty"`
}

func (c *catalog) entity(name string) *catEntity {
	for i := range c.Entities {
		if strings.EqualFold(c.Entities[i].Name, name) {
			return &c.Entities[i]
		}
	}
	return nil
}

func (e *catEntity) field(name string) *catField {
	for i := range e.Fields {
		if strings.EqualFold(e.Fields[i].Name, name) {
			return &e.Fields[i]
		}
	}
	return nil
}

// createMeta creates the meta table: one row per applied manifest, the
// newest in force; seq is the dialect's numbered key.
func createMeta(seq string) string {
	return `CREATE TABLE IF NOT EXISTS "` + metaTable + `" (
	seq        ` + seq + `,
	applied_at TEXT NOT NULL,
	name       TEXT NOT NULL,
	version    TEXT NOT NULL,
	manifest   TEXT NOT NULL,
	catalog    TEXT NOT NULL
)`
}

// loadCatalog reads the newest catalog and manifest, or nil for a new
// database.
func loadCatalog(ctx context.Context, q queryer) (*catalog, []byte, error) {
	var manifestJSON, catJSON string
	err := q.QueryRowContext(ctx, `SELECT manifest, catalog FROM "`+metaTable+`" ORDER BY seq DESC LIMIT 1`).Scan(&manifestJSON, &catJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: read the applied manifest: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(catJSON))
	dec.UseNumber()
	var c catalog
	if err := dec.Decode(&c); err != nil {
		return nil, nil, fmt.Errorf("migrate: read the applied manifest's catalog: %w", err)
	}
	return &c, []byte(manifestJSON), nil
}

// AppliedManifest returns the manifest last applied to db by Migrate, as
// JSON, or nil when none was.
func AppliedManifest(ctx context.Context, db *sql.DB) ([]byte, error) {
	d := dialectOf(db)
	var exists int
	if err := db.QueryRowContext(ctx, d.bind(d.tableExists), metaTable).Scan(&exists); err != nil {
		return nil, err
	}
	if exists == 0 {
		return nil, nil
	}
	_, manifestJSON, err := loadCatalog(ctx, db)
	return manifestJSON, err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// recordManifest adds a row for m and its catalog to the meta table, unless
// they are the ones the newest row holds.
func recordManifest(ctx context.Context, tx *sql.Tx, d *dialect, m *Manifest, cat, old *catalog, oldManifest []byte) error {
	manifestJSON, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	catJSON, err := json.Marshal(cat)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	oldCatJSON, _ := json.Marshal(old)
	if old != nil && bytes.Equal(manifestJSON, oldManifest) && bytes.Equal(catJSON, oldCatJSON) {
		return nil
	}
	_, err = tx.ExecContext(ctx, d.bind(`INSERT INTO "`+metaTable+`" (applied_at, name, version, manifest, catalog) VALUES (?, ?, ?, ?, ?)`),
		formatTime(time.Now()), m.Name, m.Version, string(manifestJSON), string(catJSON))
	if err != nil {
		return fmt.Errorf("migrate: record manifest: %w", err)
	}
	return nil
}
