package manifest

import (
	"net/http"
	"slices"
	"strings"
)

// The methods of each kind of route, in the order Allow lists them.
var (
	collectionMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions}
	itemMethods       = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	readMethods       = []string{http.MethodGet, http.MethodHead, http.MethodOptions}
)

// ServeHTTP routes by hand rather than through an http.ServeMux: a mux
// redirects paths that are not canonical (with "//", "." or ".." segments)
// and answers its own 404 and 405 in plain text, while every response of
// this API is JSON and such paths are answered like any other.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer a.recoverPanic(w, r)
	allowAnyOrigin(w.Header())
	path := r.URL.Path
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if body, ok := a.fixed[path]; ok {
		if allow(w, r, readMethods) {
			writeJSON(w, http.StatusOK, body)
		}
		return
	}
	ea, id, hasID := a.route(path)
	switch {
	case ea == nil:
		writeError(w, newError(http.StatusNotFound, "no route "+path))
	case hasID:
		a.serveItem(w, r, ea, id)
	default:
		a.serveCollection(w, r, ea)
	}
}

// route finds the entity of /api/<plural> and /api/<plural>/<id>; ea is nil
// for any other path.
func (a *api) route(path string) (ea *entityAPI, id string, hasID bool) {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return nil, "", false
	}
	plural, id, hasID := strings.Cut(rest, "/")
	if strings.Contains(id, "/") || (hasID && id == "") {
		return nil, "", false
	}
	return a.entities[plural], id, hasID
}

// recoverPanic, deferred, answers a panic with a 500 and logs it.
// http.ErrAbortHandler goes on up: it asks net/http to drop the connection.
func (a *api) recoverPanic(w http.ResponseWriter, r *http.Request) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		a.log.Error("manifest api: panic", "method", r.Method, "path", r.URL.Path, "panic", v)
		writeError(w, newError(http.StatusInternalServerError, "internal error"))
	}
}

// serveCollection serves /api/<plural>: list and create.
func (a *api) serveCollection(w http.ResponseWriter, r *http.Request, ea *entityAPI) {
	if !allow(w, r, collectionMethods) {
		return
	}
	ctx := r.Context()
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
			w.Header().Set("Location", "/api/"+ea.e.Plural()+"/"+rec.id)
		}
		a.respond(w, http.StatusCreated)(rec.json, aerr)
	}
}

// serveItem serves /api/<plural>/<id>: get, replace, patch and delete.
func (a *api) serveItem(w http.ResponseWriter, r *http.Request, ea *entityAPI, id string) {
	if !allow(w, r, itemMethods) {
		return
	}
	if ea.d.storable(id) != "" {
		writeError(w, newError(http.StatusNotFound, ea.notFound)) // no record has such an id
		return
	}
	ctx := r.Context()
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

// allow answers OPTIONS (see preflight) and refuses methods not in methods
// with 405; it reports whether the caller should go on.
func allow(w http.ResponseWriter, r *http.Request, methods []string) bool {
	if r.Method == http.MethodOptions {
		preflight(w, r, methods)
		return false
	}
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, newError(http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here; allowed: "+strings.Join(methods, ", ")))
	return false
}
