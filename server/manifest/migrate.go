package manifest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

const createMeta = `CREATE TABLE IF NOT EXISTS "` + metaTable + `" (
	seq        INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL,
	name       TEXT NOT NULL,
	version    TEXT NOT NULL,
	manifest   TEXT NOT NULL,
	catalog    TEXT NOT NULL
)`

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
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMeta); err != nil {
		return fmt.Errorf("migrate: create %s: %w", metaTable, err)
	}
	old, oldManifest, err := loadCatalog(ctx, tx)
	if err != nil {
		return err
	}
	pl := &planner{ctx: ctx, tx: tx, old: old, m: m}
	if err := pl.plan(); err != nil {
		return err
	}
	if len(pl.problems) > 0 {
		return &MigrationError{Problems: pl.problems}
	}
	for _, s := range pl.stmts {
		if _, err := tx.ExecContext(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("migrate: %s: %w", s.sql, err)
		}
	}
	manifestJSON, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	catJSON, err := json.Marshal(pl.cat)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	oldCatJSON, _ := json.Marshal(old)
	if old == nil || !bytes.Equal(manifestJSON, oldManifest) || !bytes.Equal(catJSON, oldCatJSON) {
		_, err := tx.ExecContext(ctx, `INSERT INTO "`+metaTable+`" (applied_at, name, version, manifest, catalog) VALUES (?, ?, ?, ?, ?)`,
			formatTime(time.Now()), m.Name, m.Version, string(manifestJSON), string(catJSON))
		if err != nil {
			return fmt.Errorf("migrate: record manifest: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
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
	var exists int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, metaTable).Scan(&exists); err != nil {
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

type stmt struct {
	sql  string
	args []any
}

type planner struct {
	ctx context.Context
	tx  *sql.Tx
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

func (p *planner) plan() error {
	p.tables, p.indexes = map[string]bool{}, map[string]bool{}
	rows, err := p.tx.QueryContext(p.ctx, `SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')`)
	if err != nil {
		return fmt.Errorf("migrate: list tables: %w", err)
	}
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: list tables: %w", err)
		}
		if typ == "table" {
			p.tables[strings.ToLower(name)] = true
		} else if strings.HasPrefix(strings.ToLower(name), "_cr_") {
			p.indexes[strings.ToLower(name)] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: list tables: %w", err)
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

func (p *planner) createTable(e *Entity) {
	var b strings.Builder
	b.WriteString(`CREATE TABLE ` + quoteIdent(e.Name) + ` ("id" TEXT PRIMARY KEY NOT NULL, "createdAt" TEXT NOT NULL, "updatedAt" TEXT NOT NULL`)
	ce := catEntity{Name: e.Name}
	for _, f := range e.Fields {
		b.WriteString(", " + quoteIdent(f.Name) + " " + sqlType(f.Type))
		ce.Fields = append(ce.Fields, catField{Field: f})
	}
	b.WriteString(")")
	p.exec(b.String())
	p.cat.Entities = append(p.cat.Entities, ce)
}

func (p *planner) count(query string, args ...any) (int64, error) {
	var n int64
	err := p.tx.QueryRowContext(p.ctx, query, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("migrate: %s: %w", query, err)
	}
	return n, nil
}

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

func (p *planner) addColumn(e *Entity, f *Field, rowCount int64) {
	p.exec(`ALTER TABLE ` + quoteIdent(e.Name) + ` ADD COLUMN ` + quoteIdent(f.Name) + ` ` + sqlType(f.Type))
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

func sameRules(a, b *Field) bool {
	return a.Type == b.Type && slices.Equal(a.Enum, b.Enum) && a.Pattern == b.Pattern &&
		equalBound(a.Min, b.Min) && equalBound(a.Max, b.Max)
}

func equalBound(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (p *planner) changeColumn(e *Entity, f *Field, of *catField) error {
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
	valued, err := p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NOT NULL`)
	if err != nil {
		return err
	}
	textual := func(t Type) bool { return t == TypeString || t == TypeText }
	if of.Type != f.Type && !(textual(of.Type) && textual(f.Type)) {
		if valued > 0 {
			p.problem(e.Name, f.Name, "type changes from %s to %s while %s a value; the type of a field with data cannot change (add a field with a new name instead)", of.Type, f.Type, records(valued, "has", "have"))
			return nil
		}
		// No data: recreate the column with the new type. Its indexes go
		// first, as SQLite cannot drop an indexed column.
		for _, kind := range []string{"ux", "ix"} {
			if name := indexName(kind, e.Name, f.Name); p.indexes[name] {
				p.exec(`DROP INDEX ` + quoteIdent(name))
				delete(p.indexes, name)
			}
		}
		p.exec(`ALTER TABLE ` + table + ` DROP COLUMN ` + col)
		p.exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + col + ` ` + sqlType(f.Type))
		return nil
	}
	if valued > 0 && (of.Removed || !sameRules(&of.Field, f)) {
		if err := p.checkValues(e, f); err != nil {
			return err
		}
	}
	if f.Type == TypeRef && valued > 0 && (of.Removed || !strings.EqualFold(of.Ref, f.Ref) || of.Type != TypeRef) {
		if err := p.checkRefs(e, f); err != nil {
			return err
		}
	}
	if f.Required {
		missing, err := p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NULL`)
		if err != nil {
			return err
		}
		if missing > 0 {
			if f.Default == nil {
				p.problem(e.Name, f.Name, "is now required but %s no value; give it a default to fill them, or fill them first", records(missing, "has", "have"))
			} else if f.Unique && missing > 1 {
				p.problem(e.Name, f.Name, "is unique, and its default would give the %d records without a value the same one", missing)
			} else {
				v, _ := f.normalize(f.Default)
				p.exec(`UPDATE `+table+` SET `+col+` = ? WHERE `+col+` IS NULL`, v)
			}
		}
	}
	if f.Unique && (!of.Unique || of.Removed) && valued > 1 {
		var dup any
		var n int64
		err := p.tx.QueryRowContext(p.ctx, `SELECT `+col+`, COUNT(*) FROM `+table+` WHERE `+col+` IS NOT NULL GROUP BY `+col+` HAVING COUNT(*) > 1 LIMIT 1`).Scan(&dup, &n)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("migrate: check %s.%s is unique: %w", e.Name, f.Name, err)
		default:
			p.problem(e.Name, f.Name, "cannot become unique: %d existing records share the value %s", n, appendValue(nil, f.Type, dup))
		}
	}
	return nil
}

// checkValues checks every stored value of f against f's (new) rules.
func (p *planner) checkValues(e *Entity, f *Field) error {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT "id", `+quoteIdent(f.Name)+` FROM `+quoteIdent(e.Name)+` WHERE `+quoteIdent(f.Name)+` IS NOT NULL ORDER BY "id"`)
	if err != nil {
		return fmt.Errorf("migrate: check %s.%s: %w", e.Name, f.Name, err)
	}
	defer rows.Close()
	var bad int
	var firstID, firstMsg string
	for rows.Next() {
		var id string
		var v any
		if err := rows.Scan(&id, &v); err != nil {
			return fmt.Errorf("migrate: check %s.%s: %w", e.Name, f.Name, err)
		}
		if _, msg := f.normalize(storedToJSON(f, v)); msg != "" {
			if bad == 0 {
				firstID, firstMsg = id, msg
			}
			bad++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: check %s.%s: %w", e.Name, f.Name, err)
	}
	if bad > 0 {
		p.problem(e.Name, f.Name, "%s the new rules (record %s %s)", records(int64(bad), "breaks", "break"), firstID, firstMsg)
	}
	return nil
}

// checkRefs checks that every stored value of ref field f names a record of
// its target.
func (p *planner) checkRefs(e *Entity, f *Field) error {
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
	var n int64
	var err error
	if p.tables[strings.ToLower(f.Ref)] {
		n, err = p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NOT NULL AND ` + col + ` NOT IN (SELECT "id" FROM ` + quoteIdent(f.Ref) + `)`)
	} else {
		n, err = p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NOT NULL`)
	}
	if err != nil {
		return err
	}
	if n > 0 {
		p.problem(e.Name, f.Name, "%s to %s records that do not exist", records(n, "refers", "refer"), f.Ref)
	}
	return nil
}

// reconcileIndexes drops the runtime's indexes no live field wants and
// creates the missing ones.
func (p *planner) reconcileIndexes() {
	type want struct{ table, col string }
	wanted := map[string]want{}
	for _, e := range p.m.Entities {
		for _, f := range e.Fields {
			switch {
			case f.Unique:
				wanted[indexName("ux", e.Name, f.Name)] = want{e.Name, f.Name}
			case f.Type == TypeRef:
				wanted[indexName("ix", e.Name, f.Name)] = want{e.Name, f.Name}
			}
		}
	}
	var drop []string
	for name := range p.indexes {
		if _, ok := wanted[name]; !ok {
			drop = append(drop, name)
		}
	}
	slices.Sort(drop)
	// Drops go before the column changes planned so far, as an indexed
	// column cannot be dropped.
	var pre []stmt
	for _, name := range drop {
		pre = append(pre, stmt{sql: `DROP INDEX ` + quoteIdent(name)})
	}
	p.stmts = append(pre, p.stmts...)
	names := make([]string, 0, len(wanted))
	for name := range wanted {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if p.indexes[name] {
			continue
		}
		w := wanted[name]
		unique := ""
		if strings.HasPrefix(name, "_cr_ux:") {
			unique = "UNIQUE "
		}
		p.exec(`CREATE ` + unique + `INDEX ` + quoteIdent(name) + ` ON ` + quoteIdent(w.table) + ` (` + quoteIdent(w.col) + `)`)
	}
}

// records says how many existing records, with a verb agreeing: "1 existing
// record has", "3 existing records have".
func records(n int64, one, many string) string {
	if n == 1 {
		return strings.TrimSpace("1 existing record " + one)
	}
	return strings.TrimSpace(fmt.Sprintf("%d existing records %s", n, many))
}
