package manifest

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// sameRules reports whether a and b have the same type and value rules
// (enum, pattern, min, max).
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

// changeColumn brings the column of f, last defined as of, to f, checking
// the stored values against what changed.
func (p *planner) changeColumn(e *Entity, f *Field, of *catField) error {
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
	valued, err := p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NOT NULL`)
	if err != nil {
		return err
	}
	textual := func(t Type) bool { return t == TypeString || t == TypeText }
	if of.Type != f.Type && !(textual(of.Type) && textual(f.Type)) {
		p.retype(e, f, of, valued)
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
		if err := p.fillRequired(e, f); err != nil {
			return err
		}
	}
	if f.Unique && (!of.Unique || of.Removed) && valued > 1 {
		return p.checkBecomesUnique(e, f)
	}
	return nil
}

// retype changes the type of a column without data by recreating it; the
// type of a column with data cannot change.
func (p *planner) retype(e *Entity, f *Field, of *catField, valued int64) {
	if valued > 0 {
		p.problem(e.Name, f.Name, "type changes from %s to %s while %s a value; the type of a field with data cannot change (add a field with a new name instead)", of.Type, f.Type, records(valued, "has", "have"))
		return
	}
	// The column's indexes go first, as SQLite cannot drop an indexed column.
	for _, kind := range []string{"ux", "ix"} {
		if name := p.d.indexName(kind, e.Name, f.Name); p.indexes[name] {
			p.exec(`DROP INDEX ` + quoteIdent(name))
			delete(p.indexes, name)
		}
	}
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
	p.exec(`ALTER TABLE ` + table + ` DROP COLUMN ` + col)
	p.exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + col + ` ` + p.d.columnType(f.Type))
}

// fillRequired gives a required field's default to the records without a
// value, and refuses when there is no default, or when a unique field's
// default would go to more than one record.
func (p *planner) fillRequired(e *Entity, f *Field) error {
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
	missing, err := p.count(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + col + ` IS NULL`)
	if err != nil || missing == 0 {
		return err
	}
	switch {
	case f.Default == nil:
		p.problem(e.Name, f.Name, "is now required but %s no value; give it a default to fill them, or fill them first", records(missing, "has", "have"))
	case f.Unique && missing > 1:
		p.problem(e.Name, f.Name, "is unique, and its default would give the %d records without a value the same one", missing)
	default:
		v, _ := f.normalize(f.Default)
		p.exec(`UPDATE `+table+` SET `+col+` = ? WHERE `+col+` IS NULL`, v)
	}
	return nil
}

// checkBecomesUnique refuses a field that becomes unique while two records
// share a value.
func (p *planner) checkBecomesUnique(e *Entity, f *Field) error {
	table, col := quoteIdent(e.Name), quoteIdent(f.Name)
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
	return nil
}

// checkValues checks every stored value of f against f's (new) rules.
func (p *planner) checkValues(e *Entity, f *Field) error {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT "id", `+quoteIdent(f.Name)+` FROM `+quoteIdent(e.Name)+` WHERE `+quoteIdent(f.Name)+` IS NOT NULL ORDER BY "id"`)
	if err != nil {
		return fmt.Errorf("migrate: check %s.%s: %w", e.Name, f.Name, err)
	}
	defer func() { _ = rows.Close() }()
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
