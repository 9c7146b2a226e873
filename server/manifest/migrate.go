package manifest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// MigrationError is returned by Migrate (and Serve) when the new manifest
// cannot be applied to the data in the database. Nothing was changed.
type MigrationError struct {
	Problems []MigrationProblem
}

// MigrationProblem is one change that cannot be applied safely.
type MigrationProblem struct {
	Entity string
	Field  string // empty when the problem concerns the whole entity
	Reason string
}

func (p MigrationProblem) String() string {
	if p.Field == "" {
		return p.Entity + ": " + p.Reason
	}
	return p.Entity + "." + p.Field + ": " + p.Reason
}

func (e *MigrationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "the manifest cannot be applied to the existing data: " + strings.Join(parts, "; ")
}

// Migrate brings the database to m, in one transaction. First it checks
// every change against the manifest last applied (kept in the database) and
// the data, and when any is unsafe it returns a *MigrationError naming each
// field and why, having changed nothing. The rules:
//
//   - a new entity gets a new table;
//   - a new field gets a new column; existing records take the field's
//     default when it has one. A new required field without a default is
//     refused while the table has records;
//   - a type change is refused while any record has a value in the field,
//     except between string and text; when no record has one, the column is
//     recreated with the new type;
//   - changed rules (enum values, min, max, pattern, ref target, string ⇄
//     text) are checked against every stored value, and refused when one
//     breaks them (or, for a ref, names a missing record);
//   - a field that becomes required is refused while a record has no value,
//     unless the field has a default, which then fills them;
//   - a field that becomes unique is refused while two records share a value;
//   - a removed field or entity keeps its column or table and data, hidden
//     from the API; declaring it again brings the data back, after the checks
//     above against its last definition.
//
// Running Migrate again with the same manifest changes nothing.
func Migrate(ctx context.Context, db *sql.DB, m *Manifest) error {
	if m == nil {
		return errors.New("manifest: Migrate needs a parsed manifest")
	}
	if err := m.compile(); err != nil {
		return err
	}
	d := dialectOf(db)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if d.lockMigration != "" {
		if _, err := tx.ExecContext(ctx, d.lockMigration); err != nil {
			return fmt.Errorf("migrate: wait for other migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.createMeta); err != nil {
		return fmt.Errorf("migrate: create %s: %w", metaTable, err)
	}
	old, oldManifest, err := loadCatalog(ctx, tx)
	if err != nil {
		return err
	}
	pl := &planner{ctx: ctx, tx: tx, d: d, old: old, m: m}
	if err := pl.plan(); err != nil {
		return err
	}
	if len(pl.problems) > 0 {
		return &MigrationError{Problems: pl.problems}
	}
	for _, s := range pl.stmts {
		if _, err := tx.ExecContext(ctx, d.bind(s.sql), s.args...); err != nil {
			return fmt.Errorf("migrate: %s: %w", s.sql, err)
		}
	}
	if err := recordManifest(ctx, tx, d, m, &pl.cat, old, oldManifest); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
