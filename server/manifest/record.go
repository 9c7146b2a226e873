package manifest

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
)

// scanRecord reads one row of ea.cols.
func scanRecord(sc interface{ Scan(...any) error }, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := sc.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// appendRecord writes a row of ea.cols as a JSON object: id, the fields in
// declared order, createdAt, updatedAt.
func (ea *entityAPI) appendRecord(b []byte, vals []any) []byte {
	b = append(b, `{"id":`...)
	b = appendValue(b, TypeString, vals[0])
	for i := range ea.e.Fields {
		f := &ea.e.Fields[i]
		b = append(b, ',')
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, f.Type, vals[3+i])
	}
	b = append(b, `,"createdAt":`...)
	b = appendValue(b, TypeDate, vals[1])
	b = append(b, `,"updatedAt":`...)
	b = appendValue(b, TypeDate, vals[2])
	return append(b, '}')
}

// get is GET /api/<plural>/<id>.
func (a *api) get(ctx context.Context, ea *entityAPI, id string) ([]byte, error) {
	vals, err := scanRecord(ea.get.QueryRowContext(ctx, id), 3+len(ea.e.Fields))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, newError(http.StatusNotFound, ea.notFound)
	}
	if err != nil {
		return nil, err
	}
	return ea.appendRecord(make([]byte, 0, 256), vals), nil
}
