package manifest

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgresDialect is PostgreSQL's. Text columns collate as "C", byte by
// byte like SQLite, so that lists sort the same and stored dates sort as
// time. Booleans are stored as 0 and 1, as in SQLite, so that values read
// and written are the same on both. Everything lives in the connection's
// current schema (public for an app's database).
var postgresDialect = &dialect{
	numbered:   true,
	types:      map[Type]string{TypeNumber: "DOUBLE PRECISION", TypeInteger: "BIGINT", TypeBoolean: "BIGINT"},
	text:       `TEXT COLLATE "C"`,
	createMeta: createMeta("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
	// A transaction-scoped advisory lock rather than LOCK TABLE: it can be
	// taken before the meta table exists, and two replicas creating it at
	// once would otherwise clash in the system catalogs.
	lockMigration: `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.` + metaTable + `'))`,
	listSchema: `SELECT 'table', tablename FROM pg_tables WHERE schemaname = current_schema()
UNION ALL SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema()`,
	tableExists: `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?`,
	// READ COMMITTED with row locks: a patch's read-modify-write holds the
	// row, and a ref's target cannot be deleted until the write commits
	// (nor read as present once a delete has). NO KEY UPDATE, the lock the
	// UPDATE itself takes, leaves others free to refer to the row.
	lockRow:         " FOR NO KEY UPDATE",
	lockRef:         " FOR KEY SHARE",
	caseSensitive:   true,
	rejectsNUL:      true,
	maxIdent:        63,
	uniqueViolation: postgresUniqueViolation,
}

// postgresUniqueViolation recognises SQLSTATE 23505, unique_violation.
func postgresUniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}
