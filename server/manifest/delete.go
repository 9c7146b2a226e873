package manifest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
)

// delete is DELETE /api/<plural>/<id>. A record that others still refer to
// is kept, with a 409 naming the fields that refer to it.
func (a *api) delete(ctx context.Context, ea *entityAPI, id string) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, ea.delete, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return newError(http.StatusNotFound, ea.notFound)
	}
	errs, err := ea.references(ctx, tx, id)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return newError(http.StatusConflict, "the record is still referenced; delete or change the records that refer to it first", errs...)
	}
	return tx.Commit()
}

// references counts the records whose ref fields name record id, one
// FieldError per field that does.
func (ea *entityAPI) references(ctx context.Context, tx *sql.Tx, id string) ([]FieldError, error) {
	var errs []FieldError
	for _, rb := range ea.refdBy {
		var n int64
		err := tx.QueryRowContext(ctx, ea.d.bind(`SELECT COUNT(*) FROM `+quoteIdent(rb.e.Name)+` WHERE `+quoteIdent(rb.f.Name)+` = ?`), id).Scan(&n)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			msg := fmt.Sprintf("%d %s records refer to this record", n, rb.e.Name)
			if n == 1 {
				msg = "1 " + rb.e.Name + " record refers to this record"
			}
			errs = append(errs, FieldError{rb.e.Name + "." + rb.f.Name, msg})
		}
	}
	return errs, nil
}
