package manifest

import (
	"slices"
	"strings"
)

// reconcileIndexes drops the runtime's indexes no live field wants and
// creates the missing ones.
func (p *planner) reconcileIndexes() {
	type want struct{ table, col string }
	wanted := map[string]want{}
	for _, e := range p.m.Entities {
		for _, f := range e.Fields {
			switch {
			case f.Unique:
				wanted[p.d.indexName("ux", e.Name, f.Name)] = want{e.Name, f.Name}
			case f.Type == TypeRef:
				wanted[p.d.indexName("ix", e.Name, f.Name)] = want{e.Name, f.Name}
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
