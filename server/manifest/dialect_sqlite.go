package manifest

import "strings"

// sqliteDialect is SQLite's, as OpenDB opens it.
var sqliteDialect = &dialect{
	types:           map[Type]string{TypeNumber: "REAL", TypeInteger: "INTEGER", TypeBoolean: "INTEGER"},
	text:            "TEXT",
	createMeta:      createMeta("INTEGER PRIMARY KEY"),
	listSchema:      `SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')`,
	tableExists:     `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
	uniqueViolation: sqliteUniqueViolation,
}

// sqliteUniqueViolation recognises the driver's message; it names the
// columns, not the index.
func sqliteUniqueViolation(err error) (string, bool) {
	return "", strings.Contains(err.Error(), "UNIQUE constraint failed")
}
