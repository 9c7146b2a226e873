package manifest

import "fmt"

// renameCase renames the table of e, last defined as oe, and its columns
// where the manifest now spells them in another case. Names are compared
// ignoring case, as SQLite does; where the dialect's are case-sensitive the
// table and columns take the new spelling. The renames run at once, in the
// migration's transaction, since the checks that follow read the table
// under its new names; a refused migration rolls them back with the rest.
func (p *planner) renameCase(e *Entity, oe *catEntity) error {
	if !p.d.caseSensitive {
		return nil
	}
	if oe.Name != e.Name {
		if err := p.rename(`ALTER TABLE ` + quoteIdent(oe.Name) + ` RENAME TO ` + quoteIdent(e.Name)); err != nil {
			return err
		}
	}
	for _, f := range e.Fields {
		if of := oe.field(f.Name); of != nil && of.Name != f.Name {
			if err := p.rename(`ALTER TABLE ` + quoteIdent(e.Name) + ` RENAME COLUMN ` + quoteIdent(of.Name) + ` TO ` + quoteIdent(f.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *planner) rename(query string) error {
	if _, err := p.tx.ExecContext(p.ctx, query); err != nil {
		return fmt.Errorf("migrate: %s: %w", query, err)
	}
	return nil
}
