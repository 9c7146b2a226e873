// Package migrations embeds CodeRunner's SQL migrations. The same files run
// on SQLite and PostgreSQL, so they use only SQL both understand: TEXT ids,
// BIGINT counters, TIMESTAMP columns, partial unique indexes.
package migrations

import "embed"

// FS holds the *.up.sql and *.down.sql files, applied in name order.
//
//go:embed *.sql
var FS embed.FS
