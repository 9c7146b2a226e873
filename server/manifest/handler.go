package manifest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// FieldError blames one field of a request body, or one query parameter.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is the body of every error response:
// {"error": {"status": 400, "message": "...", "fields": [...]}}.
type apiError struct {
	Status  int          `json:"status"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, msg string, fields ...FieldError) *apiError {
	return &apiError{Status: status, Message: msg, Fields: fields}
}

type api struct {
	m        *Manifest
	db       *sql.DB
	log      *slog.Logger
	entities map[string]*entityAPI // by plural
	index    []byte                // GET /api
	openapi  []byte
}

type entityAPI struct {
	e        *Entity
	table    string // quoted
	cols     string // quoted column list: id, createdAt, updatedAt, fields...
	get      *sql.Stmt
	insert   string
	update   string
	refdBy   []refBy // live ref fields that point at this entity
	notFound string
}

type refBy struct {
	e *Entity
	f *Field
}

// Handler serves m's API over db, which Migrate must have brought to m:
//
//	GET  /health                 {"status":"ok"}
//	GET  /api                    the manifest's entities and fields
//	GET  /api/openapi.json       the OpenAPI 3.1 document
//	GET  /api/<plural>           list: limit, offset, sort, filters
//	POST /api/<plural>           create
//	GET, PUT, PATCH, DELETE /api/<plural>/{id}
//
// Every response is JSON, errors included; CORS is open to every origin.
func Handler(m *Manifest, db *sql.DB) (http.Handler, error) {
	return newAPI(m, db, slog.Default())
}

func newAPI(m *Manifest, db *sql.DB, logger *slog.Logger) (*api, error) {
	if m == nil || db == nil {
		return nil, errors.New("manifest: Handler needs a manifest and a database")
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	a := &api{m: m, db: db, log: logger, entities: map[string]*entityAPI{}}
	for i := range m.Entities {
		e := &m.Entities[i]
		ea := &entityAPI{e: e, table: quoteIdent(e.Name), notFound: "no " + e.Name + " with this id"}
		cols := []string{`"id"`, `"createdAt"`, `"updatedAt"`}
		sets := []string{`"updatedAt" = ?`}
		for _, f := range e.Fields {
			cols = append(cols, quoteIdent(f.Name))
			sets = append(sets, quoteIdent(f.Name)+" = ?")
		}
		ea.cols = strings.Join(cols, ", ")
		ea.insert = "INSERT INTO " + ea.table + " (" + ea.cols + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		ea.update = "UPDATE " + ea.table + " SET " + strings.Join(sets, ", ") + ` WHERE "id" = ?`
		stmt, err := db.Prepare("SELECT " + ea.cols + " FROM " + ea.table + ` WHERE "id" = ?`)
		if err != nil {
			return nil, fmt.Errorf("manifest: the database does not match the manifest (was Migrate run?): %w", err)
		}
		ea.get = stmt
		a.entities[e.Plural()] = ea
	}
	for i := range m.Entities {
		for j := range m.Entities[i].Fields {
			f := &m.Entities[i].Fields[j]
			if f.Type == TypeRef {
				if target := a.entities[Plural(f.Ref)]; target != nil {
					target.refdBy = append(target.refdBy, refBy{&m.Entities[i], f})
				}
			}
		}
	}
	var err error
	if a.index, err = m.describe(); err != nil {
		return nil, err
	}
	if a.openapi, err = m.OpenAPI(); err != nil {
		return nil, err
	}
	return a, nil
}

// describe is GET /api's body.
func (m *Manifest) describe() ([]byte, error) {
	type entity struct {
		Name   string  `json:"name"`
		Path   string  `json:"path"`
		Fields []Field `json:"fields"`
	}
	out := struct {
		Name     string   `json:"name"`
		Version  string   `json:"version,omitempty"`
		Entities []entity `json:"entities"`
	}{Name: m.Name, Version: m.Version, Entities: []entity{}}
	for _, e := range m.Entities {
		out.Entities = append(out.Entities, entity{e.Name, "/api/" + e.Plural(), e.Fields})
	}
	return json.Marshal(out)
}

var (
	collectionMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions}
	itemMethods       = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	readMethods       = []string{http.MethodGet, http.MethodHead, http.MethodOptions}
)

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("manifest api: panic", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeError(w, newError(http.StatusInternalServerError, "internal error"))
		}
	}()
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location")

	path := r.URL.Path
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	switch path {
	case "/health":
		if a.allow(w, r, readMethods) {
			writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
		}
		return
	case "/api":
		if a.allow(w, r, readMethods) {
			writeJSON(w, http.StatusOK, a.index)
		}
		return
	case "/api/openapi.json":
		if a.allow(w, r, readMethods) {
			writeJSON(w, http.StatusOK, a.openapi)
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		writeError(w, newError(http.StatusNotFound, "no route "+path))
		return
	}
	plural, id, hasID := strings.Cut(rest, "/")
	ea := a.entities[plural]
	if ea == nil || strings.Contains(id, "/") || (hasID && id == "") {
		writeError(w, newError(http.StatusNotFound, "no route "+path))
		return
	}
	ctx := r.Context()
	if !hasID {
		if !a.allow(w, r, collectionMethods) {
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			a.respond(w, http.StatusOK)(a.list(ctx, ea, r))
		case http.MethodPost:
			body, err := readBody(w, r)
			if err != nil {
				writeError(w, err)
				return
			}
			rec, aerr := a.write(ctx, ea, "", body, modeCreate)
			if aerr == nil {
				w.Header().Set("Location", "/api/"+plural+"/"+rec.id)
			}
			a.respond(w, http.StatusCreated)(rec.json, aerr)
		}
		return
	}
	if !a.allow(w, r, itemMethods) {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.respond(w, http.StatusOK)(a.get(ctx, ea, id))
	case http.MethodPut, http.MethodPatch:
		body, err := readBody(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		mode := modeReplace
		if r.Method == http.MethodPatch {
			mode = modePatch
		}
		rec, aerr := a.write(ctx, ea, id, body, mode)
		a.respond(w, http.StatusOK)(rec.json, aerr)
	case http.MethodDelete:
		if err := a.delete(ctx, ea, id); err != nil {
			a.respond(w, 0)(nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// allow answers OPTIONS (CORS preflight included) and refuses methods not
// in methods with 405; it reports whether the caller should go on.
func (a *api) allow(w http.ResponseWriter, r *http.Request, methods []string) bool {
	if r.Method == http.MethodOptions {
		h := w.Header()
		list := strings.Join(methods, ", ")
		h.Set("Allow", list)
		h.Set("Access-Control-Allow-Methods", list)
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		}
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, newError(http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here; allowed: "+strings.Join(methods, ", ")))
	return false
}

// respond returns a function writing either body with status, or err.
func (a *api) respond(w http.ResponseWriter, status int) func([]byte, error) {
	return func(body []byte, err error) {
		if err == nil {
			writeJSON(w, status, body)
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = a.internal(err)
		}
		writeError(w, ae)
	}
}

func (a *api) internal(err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return newError(499, "request canceled")
	}
	msg := err.Error()
	if strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") {
		return newError(http.StatusServiceUnavailable, "the database is busy; try again")
	}
	a.log.Error("manifest api: internal error", "err", err)
	return newError(http.StatusInternalServerError, "internal error")
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(body)
	w.Write([]byte{'\n'})
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	writeJSON(w, e.Status, body)
}

// readBody reads a JSON object body: 415 unless it is declared JSON, 413 over
// MaxBodyBytes, 400 unless it is one well-formed JSON object.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *apiError) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !(r.Method == http.MethodPatch && mt == "application/merge-patch+json")) {
		return nil, newError(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
		}
		return nil, newError(http.StatusBadRequest, "cannot read the request body: "+err.Error())
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, newError(http.StatusBadRequest, "the request body is empty; send a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, newError(http.StatusBadRequest, "the request body must be a JSON object")
		}
		return nil, newError(http.StatusBadRequest, "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if obj == nil {
		return nil, newError(http.StatusBadRequest, "the request body must be a JSON object")
	}
	return obj, nil
}

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

// write creates (id == ""), replaces or patches a record.
func (a *api) write(ctx context.Context, ea *entityAPI, id string, body map[string]json.RawMessage, mode writeMode) (written, error) {
	e := ea.e
	n := len(e.Fields)
	vals := make([]any, n)
	given := make([]bool, n)
	var errs []FieldError
	var unknown []string
	for key, raw := range body {
		switch key {
		case "id":
			var s string
			if mode == modeCreate {
				errs = append(errs, FieldError{"id", "is set by the server"})
			} else if json.Unmarshal(raw, &s) != nil || s != id {
				errs = append(errs, FieldError{"id", "does not match the id in the URL"})
			}
			continue
		case "createdAt", "updatedAt":
			continue // read-only: accepted so that a fetched record can be sent back, and ignored
		}
		i := slices.IndexFunc(e.Fields, func(f Field) bool { return f.Name == key })
		if i < 0 {
			unknown = append(unknown, key)
			continue
		}
		given[i] = true
		v, msg := e.Fields[i].normalize(raw)
		if msg != "" {
			errs = append(errs, FieldError{key, msg})
		}
		vals[i] = v
	}
	if mode != modePatch {
		for i := range e.Fields {
			f := &e.Fields[i]
			if vals[i] == nil && f.Default != nil && !hasError(errs, f.Name) {
				vals[i], _ = f.normalize(f.Default)
			}
		}
		errs = append(errs, missing(e, vals, errs)...)
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, FieldError{k, "unknown field"})
	}
	if len(errs) > 0 {
		return written{}, invalid(e, errs)
	}

	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return written{}, err
	}
	defer tx.Rollback()
	now := formatTime(time.Now())
	var createdAt any = now
	switch mode {
	case modeCreate:
		u, err := uuid.NewV7()
		if err != nil {
			return written{}, err
		}
		id = u.String()
	case modeReplace, modePatch:
		old, err := scanRecord(tx.StmtContext(ctx, ea.get).QueryRowContext(ctx, id), 3+n)
		if errors.Is(err, sql.ErrNoRows) {
			return written{}, newError(http.StatusNotFound, ea.notFound)
		}
		if err != nil {
			return written{}, err
		}
		createdAt = old[1]
		if mode == modePatch {
			for i := range e.Fields {
				if !given[i] {
					vals[i] = old[3+i]
				}
			}
			if errs := missing(e, vals, nil); len(errs) > 0 {
				return written{}, invalid(e, errs)
			}
		}
	}
	// Refs must name existing records (given fields only for a patch: the
	// others were checked when written).
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Type != TypeRef || vals[i] == nil || (mode == modePatch && !given[i]) {
			continue
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+quoteIdent(f.Ref)+` WHERE "id" = ?`, vals[i]).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			errs = append(errs, FieldError{f.Name, fmt.Sprintf("refers to a %s that does not exist (id %v)", f.Ref, vals[i])})
		} else if err != nil {
			return written{}, err
		}
	}
	if len(errs) > 0 {
		return written{}, newError(http.StatusUnprocessableEntity, "referenced records do not exist", errs...)
	}
	for i := range e.Fields {
		f := &e.Fields[i]
		if !f.Unique || vals[i] == nil || (mode == modePatch && !given[i]) {
			continue
		}
		var other string
		err := tx.QueryRowContext(ctx, `SELECT "id" FROM `+ea.table+` WHERE `+quoteIdent(f.Name)+` = ? AND "id" <> ? LIMIT 1`, vals[i], id).Scan(&other)
		if err == nil {
			errs = append(errs, FieldError{f.Name, "is already taken by another " + e.Name})
		} else if !errors.Is(err, sql.ErrNoRows) {
			return written{}, err
		}
	}
	if len(errs) > 0 {
		return written{}, newError(http.StatusConflict, "a unique value is already taken", errs...)
	}
	row := make([]any, 0, 3+n)
	if mode == modeCreate {
		row = append(row, id, createdAt, now)
		row = append(row, vals...)
		_, err = tx.ExecContext(ctx, ea.insert, row...)
	} else {
		args := append(append([]any{now}, vals...), id)
		_, err = tx.ExecContext(ctx, ea.update, args...)
		row = append(row, id, createdAt, now)
		row = append(row, vals...)
	}
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return written{}, newError(http.StatusConflict, "a unique value is already taken")
		}
		return written{}, err
	}
	if err := tx.Commit(); err != nil {
		return written{}, err
	}
	return written{id: id, json: ea.appendRecord(make([]byte, 0, 256), row)}, nil
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

func (a *api) delete(ctx context.Context, ea *entityAPI, id string) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM `+ea.table+` WHERE "id" = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return newError(http.StatusNotFound, ea.notFound)
	}
	// Records that refer to this one keep it: refuse, and roll back.
	var errs []FieldError
	for _, rb := range ea.refdBy {
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(rb.e.Name)+` WHERE `+quoteIdent(rb.f.Name)+` = ?`, id).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			msg := fmt.Sprintf("%d %s records refer to this record", n, rb.e.Name)
			if n == 1 {
				msg = "1 " + rb.e.Name + " record refers to this record"
			}
			errs = append(errs, FieldError{rb.e.Name + "." + rb.f.Name, msg})
		}
	}
	if len(errs) > 0 {
		return newError(http.StatusConflict, "the record is still referenced; delete or change the records that refer to it first", errs...)
	}
	return tx.Commit()
}
