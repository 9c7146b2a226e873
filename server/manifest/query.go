package manifest

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// List paging: the default and the largest page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Filter operators: ?field=v is ?field[eq]=v.
var filterOps = []string{"eq", "ne", "gt", "gte", "lt", "lte", "null"}

var sqlOps = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

// columnType is the type of a column lists can filter and sort on: the
// fields, and id, createdAt and updatedAt.
func (ea *entityAPI) columnType(name string) (Type, bool) {
	switch name {
	case "id":
		return TypeRef, true
	case "createdAt", "updatedAt":
		return TypeDate, true
	}
	if f := ea.e.Field(name); f != nil {
		return f.Type, true
	}
	return "", false
}

func ordered(t Type) bool { return t == TypeNumber || t == TypeInteger || t == TypeDate }

// filterValue parses a query value for a column of type t.
func filterValue(t Type, s string) (any, string) {
	switch t {
	case TypeNumber:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, "must be a number"
		}
		return x, ""
	case TypeInteger:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, "must be an integer"
		}
		return i, ""
	case TypeBoolean:
		switch s {
		case "true", "1":
			return int64(1), ""
		case "false", "0":
			return int64(0), ""
		}
		return nil, "must be true or false"
	case TypeDate:
		d, ok := parseDate(s)
		if !ok {
			return nil, "must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"
		}
		return d, ""
	}
	return s, ""
}

type listQuery struct {
	where         []string
	args          []any
	order         string
	limit, offset int
}

// parseList reads a list request's query: limit (1 to MaxLimit, default
// DefaultLimit), offset, sort=field,-other and filters field=v or
// field[op]=v, op one of eq, ne, gt, gte, lt, lte (the last four for number,
// integer and date columns) and null (true or false). Repeating an eq or ne
// filter matches any (or none) of the values.
func (ea *entityAPI) parseList(r *http.Request) (*listQuery, *apiError) {
	q := r.URL.Query()
	lq := &listQuery{limit: DefaultLimit}
	var errs []FieldError
	byID := false
	for _, key := range slices.Sorted(maps.Keys(q)) {
		vals := q[key]
		var fe *FieldError
		switch key {
		case "limit":
			lq.limit, fe = parseCount(key, vals, func(n int) bool { return n >= 1 && n <= MaxLimit },
				"must be one integer from 1 to "+strconv.Itoa(MaxLimit))
		case "offset":
			lq.offset, fe = parseCount(key, vals, func(n int) bool { return n >= 0 }, "must be one integer, 0 or more")
		case "sort":
			var sortErrs []FieldError
			lq.order, byID, sortErrs = ea.parseSort(vals)
			errs = append(errs, sortErrs...)
		default:
			fe = ea.parseFilter(lq, key, vals)
		}
		if fe != nil {
			errs = append(errs, *fe)
		}
	}
	if len(errs) > 0 {
		return nil, newError(http.StatusBadRequest, "invalid list query", errs...)
	}
	if !byID {
		if lq.order != "" {
			lq.order += ", "
		}
		lq.order += `"id" ASC`
	}
	return lq, nil
}

// parseCount reads limit or offset: one integer that inRange accepts.
func parseCount(key string, vals []string, inRange func(int) bool, msg string) (int, *FieldError) {
	n, err := strconv.Atoi(vals[0])
	if err != nil || !inRange(n) || len(vals) > 1 {
		return n, &FieldError{key, msg}
	}
	return n, nil
}

// parseSort reads sort=field,-other into an ORDER BY list, and reports
// whether it orders by id (which needs no tie-break).
func (ea *entityAPI) parseSort(vals []string) (order string, byID bool, errs []FieldError) {
	var parts []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			dir := " ASC"
			name := strings.TrimSpace(s)
			if rest, ok := strings.CutPrefix(name, "-"); ok {
				name, dir = rest, " DESC"
			}
			t, ok := ea.columnType(name)
			if !ok {
				errs = append(errs, FieldError{"sort", "unknown field " + strconv.Quote(name)})
				continue
			}
			if t == TypeJSON {
				errs = append(errs, FieldError{"sort", "json field " + strconv.Quote(name) + " cannot be sorted on"})
				continue
			}
			if name == "id" {
				byID = true
			}
			parts = append(parts, quoteIdent(name)+dir)
		}
	}
	return strings.Join(parts, ", "), byID, errs
}

// parseFilter adds the condition of one filter, key being field or
// field[op].
func (ea *entityAPI) parseFilter(lq *listQuery, key string, vals []string) *FieldError {
	name, op := key, "eq"
	if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
		name, op = key[:i], key[i+1:len(key)-1]
	}
	t, ok := ea.columnType(name)
	if !ok {
		return &FieldError{key, "unknown field " + strconv.Quote(name) + " (use limit, offset, sort, or a field name)"}
	}
	if !slices.Contains(filterOps, op) {
		return &FieldError{key, "unknown operator " + strconv.Quote(op) + " (expected one of: " + strings.Join(filterOps, ", ") + ")"}
	}
	col := quoteIdent(name)
	switch {
	case op == "null":
		return lq.nullFilter(key, col, vals[0])
	case t == TypeJSON:
		return &FieldError{key, "json fields can only be filtered with [null]"}
	case op != "eq" && op != "ne" && !ordered(t):
		return &FieldError{key, "operator " + op + " applies only to number, integer and date fields"}
	}
	args := make([]any, 0, len(vals))
	for _, s := range vals {
		v, msg := filterValue(t, s)
		if msg == "" {
			msg = ea.d.storable(v)
		}
		if msg != "" {
			return &FieldError{key, msg}
		}
		args = append(args, v)
	}
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	switch {
	case len(args) > 1 && op == "eq":
		lq.where = append(lq.where, col+" IN ("+placeholders+")")
	case len(args) > 1 && op == "ne":
		lq.where = append(lq.where, col+" NOT IN ("+placeholders+")")
	default:
		for range args {
			lq.where = append(lq.where, col+" "+sqlOps[op]+" ?")
		}
	}
	lq.args = append(lq.args, args...)
	return nil
}

// nullFilter adds field[null]=true or false.
func (lq *listQuery) nullFilter(key, col, val string) *FieldError {
	switch val {
	case "true", "1":
		lq.where = append(lq.where, col+" IS NULL")
	case "false", "0":
		lq.where = append(lq.where, col+" IS NOT NULL")
	default:
		return &FieldError{key, "must be true or false"}
	}
	return nil
}

// list is GET /api/<plural>: {"items": [...], "total": N, "limit": L,
// "offset": O}, total counting every record that matches the filters.
// Without sort, records come in creation order (ids are UUIDv7).
func (a *api) list(ctx context.Context, ea *entityAPI, r *http.Request) ([]byte, error) {
	lq, aerr := ea.parseList(r)
	if aerr != nil {
		return nil, aerr
	}
	where := ""
	if len(lq.where) > 0 {
		where = " WHERE " + strings.Join(lq.where, " AND ")
	}
	var total int64
	if err := a.db.QueryRowContext(ctx, ea.d.bind("SELECT COUNT(*) FROM "+ea.table+where), lq.args...).Scan(&total); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1024)
	b = append(b, `{"items":[`...)
	if total > int64(lq.offset) {
		args := append(slices.Clip(lq.args), lq.limit, lq.offset)
		rows, err := a.db.QueryContext(ctx, ea.d.bind("SELECT "+ea.cols+" FROM "+ea.table+where+" ORDER BY "+lq.order+" LIMIT ? OFFSET ?"), args...)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		first := true
		for rows.Next() {
			vals, err := scanRecord(rows, 3+len(ea.e.Fields))
			if err != nil {
				return nil, err
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = ea.appendRecord(b, vals)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(lq.limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(lq.offset), 10)
	return append(b, '}'), nil
}
