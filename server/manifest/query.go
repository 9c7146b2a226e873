package manifest

import (
	"context"
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
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sorted := false
	for _, key := range keys {
		vals := q[key]
		switch key {
		case "limit":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 1 || n > MaxLimit || len(vals) > 1 {
				errs = append(errs, FieldError{key, "must be one integer from 1 to " + strconv.Itoa(MaxLimit)})
			}
			lq.limit = n
			continue
		case "offset":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 0 || len(vals) > 1 {
				errs = append(errs, FieldError{key, "must be one integer, 0 or more"})
			}
			lq.offset = n
			continue
		case "sort":
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
						errs = append(errs, FieldError{key, "unknown field " + strconv.Quote(name)})
						continue
					}
					if t == TypeJSON {
						errs = append(errs, FieldError{key, "json field " + strconv.Quote(name) + " cannot be sorted on"})
						continue
					}
					if name == "id" {
						sorted = true
					}
					parts = append(parts, quoteIdent(name)+dir)
				}
			}
			lq.order = strings.Join(parts, ", ")
			continue
		}
		name, op := key, "eq"
		if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
			name, op = key[:i], key[i+1:len(key)-1]
		}
		t, ok := ea.columnType(name)
		if !ok {
			errs = append(errs, FieldError{key, "unknown field " + strconv.Quote(name) + " (use limit, offset, sort, or a field name)"})
			continue
		}
		if !slices.Contains(filterOps, op) {
			errs = append(errs, FieldError{key, "unknown operator " + strconv.Quote(op) + " (expected one of: " + strings.Join(filterOps, ", ") + ")"})
			continue
		}
		col := quoteIdent(name)
		if op == "null" {
			switch vals[0] {
			case "true", "1":
				lq.where = append(lq.where, col+" IS NULL")
			case "false", "0":
				lq.where = append(lq.where, col+" IS NOT NULL")
			default:
				errs = append(errs, FieldError{key, "must be true or false"})
			}
			continue
		}
		if t == TypeJSON {
			errs = append(errs, FieldError{key, "json fields can only be filtered with [null]"})
			continue
		}
		if op != "eq" && op != "ne" && !ordered(t) {
			errs = append(errs, FieldError{key, "operator " + op + " applies only to number, integer and date fields"})
			continue
		}
		args := make([]any, 0, len(vals))
		bad := false
		for _, s := range vals {
			v, msg := filterValue(t, s)
			if msg != "" {
				errs = append(errs, FieldError{key, msg})
				bad = true
				break
			}
			args = append(args, v)
		}
		if bad {
			continue
		}
		switch {
		case len(args) > 1 && op == "eq":
			lq.where = append(lq.where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")")
		case len(args) > 1 && op == "ne":
			lq.where = append(lq.where, col+" NOT IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")")
		default:
			for range args {
				lq.where = append(lq.where, col+" "+sqlOps[op]+" ?")
			}
		}
		lq.args = append(lq.args, args...)
	}
	if len(errs) > 0 {
		return nil, newError(http.StatusBadRequest, "invalid list query", errs...)
	}
	if !sorted {
		if lq.order != "" {
			lq.order += ", "
		}
		lq.order += `"id" ASC`
	}
	return lq, nil
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
	if err := a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+ea.table+where, lq.args...).Scan(&total); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1024)
	b = append(b, `{"items":[`...)
	if total > int64(lq.offset) {
		args := append(slices.Clip(lq.args), lq.limit, lq.offset)
		rows, err := a.db.QueryContext(ctx, "SELECT "+ea.cols+" FROM "+ea.table+where+" ORDER BY "+lq.order+" LIMIT ? OFFSET ?", args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
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
