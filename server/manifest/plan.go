package manifest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// stmt is a planned statement.
type stmt struct {
	sql  string
	args []any
}

// planner works out a migration in its transaction: the statements to run
// and the problems that forbid running them.
type planner struct {
	ctx context.Context
	tx  *sql.Tx
	d   *dialect
	old *catalog
	m   *Manifest

	cat      catalog // the catalog after the migration
	problems []MigrationProblem
	stmts    []stmt
	tables   map[string]bool // lower-case names of the tables in the database
	indexes  map[string]bool // lower-case names of the runtime's indexes
}

func (p *planner) problem(entity, field, format string, args ...any) {
	p.problems = append(p.problems, MigrationProblem{Entity: entity, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (p *planner) exec(sql string, args ...any) { p.stmts = append(p.stmts, stmt{sql, args}) }

// readSchema lists the database's tables and the runtime's indexes.
func (p *planner) readSchema() error {
	p.tables, p.indexes = map[string]bool{}, map[string]bool{}
	rows, err := p.tx.QueryContext(p.ctx, p.d.listSchema)
	if err != nil {
		return fmt.Errorf("migrate: list tables: %w", err)
	}
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			_ = rows.Close()
			return fmt.Errorf("migrate: list tables: %w", err)
		}
		if typ == "table" {
			p.tables[strings.ToLower(name)] = true
		} else if runtimeIndex(strings.ToLower(name)) {
			p.indexes[strings.ToLower(name)] = true
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: list tables: %w", err)
	}
	return nil
}

// plan works out the statements that bring the database to p.m, and the
// problems that forbid it.
func (p *planner) plan() error {
	if err := p.readSchema(); err != nil {
		return err
	}
	old := p.old
	if old == nil {
		old = &catalog{}
	}
	p.cat = catalog{Format: 1}
	for i := range p.m.Entities {
		e := &p.m.Entities[i]
		oe := old.entity(e.Name)
		if oe != nil && !p.tables[strings.ToLower(e.Name)] {
			oe = nil // dropped by hand: start again
		}
		if oe == nil {
			if p.tables[strings.ToLower(e.Name)] {
				p.problem(e.Name, "", "a table %q already exists in the database but was not created by this runtime", e.Name)
				continue
			}
			p.createTable(e)
			continue
		}
		if err := p.renameCase(e, oe); err != nil {
			return err
		}
		if err := p.alterTable(e, oe); err != nil {
			return err
		}
	}
	// Removed entities keep their tables, hidden.
	for _, oe := range old.Entities {
		if p.m.Entity(oe.Name) == nil && !slices.ContainsFunc(p.m.Entities, func(e Entity) bool { return strings.EqualFold(e.Name, oe.Name) }) {
			oe.Removed = true
			p.cat.Entities = append(p.cat.Entities, oe)
		}
	}
	p.reconcileIndexes()
	return nil
}

// createTable creates a new entity's table.
func (p *planner) createTable(e *Entity) {
	var b strings.Builder
	id, stamp := p.d.columnType(TypeRef), p.d.columnType(TypeDate)
	b.WriteString(`CREATE TABLE ` + quoteIdent(e.Name) + ` ("id" ` + id + ` PRIMARY KEY NOT NULL, "createdAt" ` + stamp + ` NOT NULL, "updatedAt" ` + stamp + ` NOT NULL`)
	ce := catEntity{Name: e.Name}
	for _, f := range e.Fields {
		b.WriteString(", " + quoteIdent(f.Name) + " " + p.d.columnType(f.Type))
		ce.Fields = append(ce.Fields, catField{Field: f})
	}
	b.WriteString(")")
	p.exec(b.String())
	p.cat.Entities = append(p.cat.Entities, ce)
}

// count runs a SELECT COUNT(*).
func (p *planner) count(query string, args ...any) (int64, error) {
	var n int64
	err := p.tx.QueryRowContext(p.ctx, p.d.bind(query), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("migrate: %s: %w", query, err)
	}
	return n, nil
}

// alterTable brings the table of e, last defined as oe, to e.
func (p *planner) alterTable(e *Entity, oe *catEntity) error {
	table := quoteIdent(e.Name)
	rowCount, err := p.count(`SELECT COUNT(*) FROM ` + table)
	if err != nil {
		return err
	}
	ce := catEntity{Name: e.Name}
	for i := range e.Fields {
		f := &e.Fields[i]
		of := oe.field(f.Name)
		if of == nil {
			p.addColumn(e, f, rowCount)
		} else if err := p.changeColumn(e, f, of); err != nil {
			return err
		}
		ce.Fields = append(ce.Fields, catField{Field: *f})
	}
	for _, of := range oe.Fields {
		if e.Field(of.Name) == nil && !slices.ContainsFunc(e.Fields, func(f Field) bool { return strings.EqualFold(f.Name, of.Name) }) {
			of.Removed = true
			ce.Fields = append(ce.Fields, of)
		}
	}
	p.cat.Entities = append(p.cat.Entities, ce)
	return nil
}

// addColumn adds a new field's column, filled with its default.
func (p *planner) addColumn(e *Entity, f *Field, rowCount int64) {
	p.exec(`ALTER TABLE ` + quoteIdent(e.Name) + ` ADD COLUMN ` + quoteIdent(f.Name) + ` ` + p.d.columnType(f.Type))
	if rowCount == 0 {
		return
	}
	if f.Default == nil {
		if f.Required {
			p.problem(e.Name, f.Name, "new required field has no default, so %s would have no value; give it a default or make it optional", records(rowCount, "", ""))
		}
		return
	}
	if f.Unique && rowCount > 1 {
		p.problem(e.Name, f.Name, "new unique field's default would give the %d existing records the same value", rowCount)
		return
	}
	v, _ := f.normalize(f.Default)
	p.exec(`UPDATE `+quoteIdent(e.Name)+` SET `+quoteIdent(f.Name)+` = ?`, v)
}

// records says how many existing records, with a verb agreeing: "1 existing
// record has", "3 existing records have".
func records(n int64, one, many string) string {
	if n == 1 {
		return strings.TrimSpace("1 existing record " + one)
	}
	return strings.TrimSpace(fmt.Sprintf("%d existing records %s", n, many))
}
