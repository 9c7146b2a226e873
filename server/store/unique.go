package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either database.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	// modernc.org/sqlite reports "constraint failed: UNIQUE constraint
	// failed: ..." (SQLITE_CONSTRAINT_UNIQUE).
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
