// Package migrations holds CodeRunner's migrations. The SQL files run on
// SQLite and PostgreSQL alike, so they use only SQL both understand: TEXT
// ids, BIGINT counters, TIMESTAMP columns, partial unique indexes. The few
// whose SQL must differ are Go files named like the SQL ones, added by
// Register.
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

// Register adds the Go migrations to set (after set.Discover(FS)).
func Register(set *migrate.Migrations) {
	registerLogLinesWithoutFK(set)
	registerProjects(set)
	registerReleases(set)
	registerAuditEvents(set)
}

// FS holds the *.up.sql and *.down.sql files, applied in name order.
//
//go:embed *.sql
var FS embed.FS
