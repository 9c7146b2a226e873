package manifest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
)

type writeMode int

const (
	modeCreate writeMode = iota
	modeReplace
	modePatch
)

type written struct {
	id   string
	json []byte
}

// change is one create, replace or patch of a record of ea.
type change struct {
	ea    *entityAPI
	mode  writeMode
	id    string // empty for a create until start gives it one
	vals  []any  // the fields' values to store, in declared order
	given []bool // which fields the request body set
}

// write creates (id == ""), replaces or patches a record.
func (a *api) write(ctx context.Context, ea *entityAPI, id string, body map[string]json.RawMessage, mode writeMode) (written, error) {
	c := &change{ea: ea, mode: mode, id: id}
	if err := c.bind(body); err != nil {
		return written{}, err
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return written{}, err
	}
	defer func() { _ = tx.Rollback() }()
	now := formatTime(time.Now())
	createdAt, err := c.start(ctx, tx, now)
	if err != nil {
		return written{}, err
	}
	if err := c.checkRefs(ctx, tx); err != nil {
		return written{}, err
	}
	if err := c.checkUnique(ctx, tx); err != nil {
		return written{}, err
	}
	row, err := c.store(ctx, tx, createdAt, now)
	if err != nil {
		return written{}, err
	}
	if err := tx.Commit(); err != nil {
		return written{}, err
	}
	return written{id: c.id, json: ea.appendRecord(make([]byte, 0, 256), row)}, nil
}

// bind checks the body against the fields' types and rules and sets vals
// and given; a create or replace also takes defaults and needs every
// required field. All problems come back as one 400.
func (c *change) bind(body map[string]json.RawMessage) error {
	e := c.ea.e
	c.vals, c.given = make([]any, len(e.Fields)), make([]bool, len(e.Fields))
	var errs []FieldError
	var unknown []string
	for key, raw := range body {
		if fe, ok := c.readOnly(key, raw); ok {
			if fe != nil {
				errs = append(errs, *fe)
			}
			continue
		}
		i := slices.IndexFunc(e.Fields, func(f Field) bool { return f.Name == key })
		if i < 0 {
			unknown = append(unknown, key)
			continue
		}
		c.given[i] = true
		v, msg := e.Fields[i].normalize(raw)
		if msg == "" {
			msg = c.ea.d.storable(v)
		}
		if msg != "" {
			errs = append(errs, FieldError{key, msg})
		}
		c.vals[i] = v
	}
	if c.mode != modePatch {
		for i := range e.Fields {
			f := &e.Fields[i]
			if c.vals[i] == nil && f.Default != nil && !hasError(errs, f.Name) {
				c.vals[i], _ = f.normalize(f.Default)
			}
		}
		errs = append(errs, missing(e, c.vals, errs)...)
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, FieldError{k, "unknown field"})
	}
	if len(errs) > 0 {
		return invalid(e, errs)
	}
	return nil
}

// readOnly reports whether key is one the server sets, and the error when
// the body may not give it.
func (c *change) readOnly(key string, raw json.RawMessage) (*FieldError, bool) {
	switch key {
	case "id":
		var s string
		if c.mode == modeCreate {
			return &FieldError{"id", "is set by the server"}, true
		}
		if json.Unmarshal(raw, &s) != nil || s != c.id {
			return &FieldError{"id", "does not match the id in the URL"}, true
		}
		return nil, true
	case "createdAt", "updatedAt":
		return nil, true // accepted so that a fetched record can be sent back, and ignored
	}
	return nil, false
}

// start settles the record's id and createdAt: new ones for a create, the
// stored record's otherwise. A patch keeps the stored values of the fields
// it does not give, and must still leave every required field set.
func (c *change) start(ctx context.Context, tx *sql.Tx, now string) (createdAt any, err error) {
	if c.mode == modeCreate {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		c.id = u.String()
		return now, nil
	}
	old, err := scanRecord(tx.StmtContext(ctx, c.ea.getToWrite).QueryRowContext(ctx, c.id), 3+len(c.vals))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, newError(http.StatusNotFound, c.ea.notFound)
	}
	if err != nil {
		return nil, err
	}
	if c.mode == modePatch {
		for i := range c.vals {
			if !c.given[i] {
				c.vals[i] = old[3+i]
			}
		}
		if errs := missing(c.ea.e, c.vals, nil); len(errs) > 0 {
			return nil, invalid(c.ea.e, errs)
		}
	}
	return old[1], nil
}

// checked reports whether field i's value is to be checked against the
// other records: a patch checks only what it gives, the rest was checked
// when it was written.
func (c *change) checked(i int) bool {
	return c.vals[i] != nil && (c.mode != modePatch || c.given[i])
}

// checkRefs answers 422 when a ref names a record that does not exist.
func (c *change) checkRefs(ctx context.Context, tx *sql.Tx) error {
	var errs []FieldError
	for i := range c.ea.e.Fields {
		f := &c.ea.e.Fields[i]
		if f.Type != TypeRef || !c.checked(i) {
			continue
		}
		var one int
		err := tx.QueryRowContext(ctx, c.ea.d.bind(`SELECT 1 FROM `+quoteIdent(f.Ref)+` WHERE "id" = ?`+c.ea.d.lockRef), c.vals[i]).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			errs = append(errs, FieldError{f.Name, fmt.Sprintf("refers to a %s that does not exist (id %v)", f.Ref, c.vals[i])})
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return newError(http.StatusUnprocessableEntity, "referenced records do not exist", errs...)
	}
	return nil
}

// checkUnique answers 409 when another record has a unique field's value.
func (c *change) checkUnique(ctx context.Context, tx *sql.Tx) error {
	e := c.ea.e
	var errs []FieldError
	for i := range e.Fields {
		f := &e.Fields[i]
		if !f.Unique || !c.checked(i) {
			continue
		}
		var other string
		err := tx.QueryRowContext(ctx, c.ea.d.bind(`SELECT "id" FROM `+c.ea.table+` WHERE `+quoteIdent(f.Name)+` = ? AND "id" <> ? LIMIT 1`), c.vals[i], c.id).Scan(&other)
		if err == nil {
			errs = append(errs, FieldError{f.Name, "is already taken by another " + e.Name})
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if len(errs) > 0 {
		return newError(http.StatusConflict, "a unique value is already taken", errs...)
	}
	return nil
}

// store inserts or updates the row and returns it as stored.
func (c *change) store(ctx context.Context, tx *sql.Tx, createdAt any, now string) ([]any, error) {
	row := make([]any, 0, 3+len(c.vals))
	row = append(row, c.id, createdAt, now)
	row = append(row, c.vals...)
	var err error
	if c.mode == modeCreate {
		_, err = tx.ExecContext(ctx, c.ea.insert, row...)
	} else {
		_, err = tx.ExecContext(ctx, c.ea.update, append(append([]any{now}, c.vals...), c.id)...)
	}
	if err != nil {
		return nil, c.storeError(err)
	}
	return row, nil
}

// storeError turns the unique index's violation into the 409 of
// checkUnique: the index has the last word when checkUnique missed a clash
// (a concurrent write it could not see yet, on PostgreSQL).
func (c *change) storeError(err error) error {
	index, ok := c.ea.d.uniqueViolation(err)
	if !ok {
		return err
	}
	if field, ok := c.ea.uniqueBy[index]; ok {
		return newError(http.StatusConflict, "a unique value is already taken", FieldError{field, "is already taken by another " + c.ea.e.Name})
	}
	return newError(http.StatusConflict, "a unique value is already taken")
}

func hasError(errs []FieldError, field string) bool {
	return slices.ContainsFunc(errs, func(e FieldError) bool { return e.Field == field })
}

// missing lists the required fields without a value that have no error yet.
func missing(e *Entity, vals []any, errs []FieldError) []FieldError {
	var out []FieldError
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Required && vals[i] == nil && !hasError(errs, f.Name) {
			out = append(out, FieldError{f.Name, "is required"})
		}
	}
	return out
}

// invalid is the 400 for failing fields, listed in declared order.
func invalid(e *Entity, errs []FieldError) *apiError {
	order := func(name string) int {
		if name == "id" {
			return -1
		}
		if i := slices.IndexFunc(e.Fields, func(f Field) bool { return f.Name == name }); i >= 0 {
			return i
		}
		return len(e.Fields)
	}
	sort.SliceStable(errs, func(i, j int) bool { return order(errs[i].Field) < order(errs[j].Field) })
	noun := "fields are"
	if len(errs) == 1 {
		noun = "field is"
	}
	return newError(http.StatusBadRequest, fmt.Sprintf("invalid %s: %d %s not valid", e.Name, len(errs), noun), errs...)
}
