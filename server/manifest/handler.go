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
		ea, err := newEntityAPI(db, &m.Entities[i])
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
func newEntityAPI(db *sql.DB, e *Entity) (*entityAPI, error) {
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
