package manifest

import "strings"

// metaTable is the table holding the applied manifests.
const metaTable = "_cr_manifest"

// reservedEntity reports why an entity name cannot be a table name, or "".
func reservedEntity(name string) string {
	l := strings.ToLower(name)
	switch {
	case strings.HasPrefix(l, "sqlite_"):
		return "names starting with sqlite_ are reserved by SQLite"
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

// quoteIdent quotes an SQL identifier. Names are checked identifiers, but
// index names contain ':' and '.', and quoting keeps SQL keywords usable.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// sqlType is the column type a field type is stored as.
func sqlType(t Type) string {
	switch t {
	case TypeNumber:
		return "REAL"
	case TypeInteger, TypeBoolean:
		return "INTEGER"
	}
	return "TEXT"
}
