package manifest

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

type api struct {
	m        *Manifest
	db       *sql.DB
	log      *slog.Logger
	entities map[string]*entityAPI // by plural
	fixed    map[string][]byte     // the bodies of /health, /api and /api/openapi.json, by path
}

type entityAPI struct {
	e     *Entity
	d     *dialect
	table string // quoted
	cols  string // quoted column list: id, createdAt, updatedAt, fields...
	get   *sql.Stmt
	// getToWrite reads the record a replace or patch starts from, locking
	// it where the dialect must; it is get where it need not.
	getToWrite *sql.Stmt
	insert     string
	update     string
	delete     string
	refdBy     []refBy           // live ref fields that point at this entity
	uniqueBy   map[string]string // the unique fields' names by their index's
	notFound   string
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
	d := dialectOf(db)
	for i := range m.Entities {
		ea, err := newEntityAPI(db, d, &m.Entities[i])
		if err != nil {
			return nil, err
		}
		a.entities[ea.e.Plural()] = ea
	}
	a.linkRefs()
	index, err := m.describe()
	if err != nil {
		return nil, err
	}
	openapi, err := m.OpenAPI()
	if err != nil {
		return nil, err
	}
	a.fixed = map[string][]byte{
		"/health":           []byte(`{"status":"ok"}`),
		"/api":              index,
		"/api/openapi.json": openapi,
	}
	return a, nil
}

// newEntityAPI prepares the statements that serve e's table.
func newEntityAPI(db *sql.DB, d *dialect, e *Entity) (*entityAPI, error) {
	ea := &entityAPI{e: e, d: d, table: quoteIdent(e.Name), uniqueBy: map[string]string{}, notFound: "no " + e.Name + " with this id"}
	cols := []string{`"id"`, `"createdAt"`, `"updatedAt"`}
	sets := []string{`"updatedAt" = ?`}
	for _, f := range e.Fields {
		cols = append(cols, quoteIdent(f.Name))
		sets = append(sets, quoteIdent(f.Name)+" = ?")
		if f.Unique {
			ea.uniqueBy[d.indexName("ux", e.Name, f.Name)] = f.Name
		}
	}
	ea.cols = strings.Join(cols, ", ")
	ea.insert = d.bind("INSERT INTO " + ea.table + " (" + ea.cols + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")")
	ea.update = d.bind("UPDATE " + ea.table + " SET " + strings.Join(sets, ", ") + ` WHERE "id" = ?`)
	ea.delete = d.bind(`DELETE FROM ` + ea.table + ` WHERE "id" = ?`)
	get := d.bind("SELECT " + ea.cols + " FROM " + ea.table + ` WHERE "id" = ?`)
	stmt, err := db.Prepare(get)
	if err != nil {
		return nil, fmt.Errorf("manifest: the database does not match the manifest (was Migrate run?): %w", err)
	}
	ea.get, ea.getToWrite = stmt, stmt
	if d.lockRow != "" {
		if ea.getToWrite, err = db.Prepare(get + d.lockRow); err != nil {
			return nil, fmt.Errorf("manifest: prepare %s: %w", e.Name, err)
		}
	}
	return ea, nil
}

// linkRefs tells each entity which ref fields point at it, for delete.
func (a *api) linkRefs() {
	for i := range a.m.Entities {
		for j := range a.m.Entities[i].Fields {
			f := &a.m.Entities[i].Fields[j]
			if f.Type == TypeRef {
				if target := a.entities[Plural(f.Ref)]; target != nil {
					target.refdBy = append(target.refdBy, refBy{&a.m.Entities[i], f})
				}
			}
		}
	}
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
