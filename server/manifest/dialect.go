package manifest

import (
	"database/sql"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
)

// dialect is what differs between the databases the runtime stores data
// in. Everything else (the API, the migration rules, the SQL the queries
// are built from, with ? placeholders) is shared; a dialect renders and
// reads what cannot be.
type dialect struct {
	// numbered: placeholders are $1, $2, … rather than ?.
	numbered bool
	// types are the column types of the field types; a type not listed is
	// stored as text.
	types map[Type]string
	text  string
	// createMeta creates the meta table if it is missing.
	createMeta string
	// lockMigration, when set, is run first in a migration's transaction so
	// that processes sharing the database migrate one after the other, each
	// reading the schema the one before left.
	lockMigration string
	// listSchema lists the database's tables and indexes as rows of (type,
	// name), type being "table" or "index".
	listSchema string
	// tableExists counts the tables named by its one argument.
	tableExists string
	// lockRow ends the read of a record that a write then replaces, and
	// lockRef the read of a record that a write refers to, so that a
	// concurrent write or delete waits rather than being lost or leaving a
	// dangling ref. SQLite needs neither: its write transactions run one at
	// a time (BEGIN IMMEDIATE).
	lockRow, lockRef string
	// caseSensitive: quoted names that differ in case only name different
	// tables and columns.
	caseSensitive bool
	// rejectsNUL: text cannot hold the character U+0000.
	rejectsNUL bool
	// maxIdent is the longest identifier in bytes, 0 when there is no limit.
	maxIdent int
	// uniqueViolation reports whether err is a unique index's violation and
	// which index, when the database says.
	uniqueViolation func(err error) (index string, ok bool)
}

// dialectOf is the dialect of db's driver.
func dialectOf(db *sql.DB) *dialect {
	if _, ok := db.Driver().(*stdlib.Driver); ok {
		return postgresDialect
	}
	return sqliteDialect
}

// bind renders the ? placeholders of query in the dialect. The queries are
// the runtime's own: a ? inside a quoted name or string is left alone.
func (d *dialect) bind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// storable says why value v, as normalize returns it, cannot be stored
// or compared in the dialect, or "". Only PostgreSQL refuses anything: a
// string holding U+0000 (a json field's is escaped, so it is stored).
func (d *dialect) storable(v any) string {
	if s, ok := v.(string); d.rejectsNUL && ok && strings.IndexByte(s, 0) >= 0 {
		return "must not contain the character U+0000, which PostgreSQL cannot store"
	}
	return ""
}

// columnType is the column type field type t is stored as.
func (d *dialect) columnType(t Type) string {
	if s, ok := d.types[t]; ok {
		return s
	}
	return d.text
}

// indexName names the runtime's index on entity.field (see indexName),
// shortened to fit the dialect's identifiers: cut, with a hash of the whole
// name added, so that it is the same each time and the one the database
// lists. Names are ASCII identifiers, so any cut is a valid string.
func (d *dialect) indexName(kind, entity, field string) string {
	name := indexName(kind, entity, field)
	if d.maxIdent == 0 || len(name) <= d.maxIdent {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	suffix := "~" + strconv.FormatUint(uint64(h.Sum32()), 16)
	return name[:d.maxIdent-len(suffix)] + suffix
}
