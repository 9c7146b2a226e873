package manifest

import "strings"

// metaTable is the table holding the applied manifests.
const metaTable = "_cr_manifest"

// reservedEntity reports why an entity name cannot be a table name in
// database db, or "". SQLite's names stay reserved on PostgreSQL, so that a
// manifest can move between the two.
func reservedEntity(name string, db Database) string {
	l := strings.ToLower(name)
	switch {
	case strings.HasPrefix(l, "sqlite_"):
		return "names starting with sqlite_ are reserved by SQLite"
	case db == Postgres && strings.HasPrefix(l, "pg_"):
		// Unqualified, such a name could resolve to a system catalog.
		return "names starting with pg_ are reserved by PostgreSQL"
	case strings.HasPrefix(l, "_cr_"):
		return "names starting with _cr_ are reserved for the runtime's own tables"
	}
	return ""
}

// indexName names the runtime's index on entity.field; kind is "ux" for a
// unique index, "ix" for a plain one.
func indexName(kind, entity, field string) string {
	return "_cr_" + kind + ":" + strings.ToLower(entity) + "." + strings.ToLower(field)
}

// runtimeIndex reports whether an index's lower-cased name is one that
// indexName makes (not, say, PostgreSQL's index of the meta table's key,
// _cr_manifest_pkey).
func runtimeIndex(name string) bool {
	return strings.HasPrefix(name, "_cr_ux:") || strings.HasPrefix(name, "_cr_ix:")
}

// quoteIdent quotes an SQL identifier. Names are checked identifiers, but
// index names contain ':' and '.', and quoting keeps SQL keywords usable.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
