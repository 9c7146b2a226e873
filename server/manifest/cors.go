package manifest

import (
	"net/http"
	"strings"
)

// The API is open to every origin, and says so on every response, with or
// without an Origin header. The headers are set here rather than by
// rs/cors (which the platform's own API uses): rs/cors sets them only on
// requests that carry an Origin, adds Vary, and answers a preflight with the
// requested method alone and on any path, where this API answers OPTIONS
// with the route's methods (and Allow, for clients that are not browsers)
// and 404 on a path it does not serve.

// allowAnyOrigin sets the headers every response carries.
func allowAnyOrigin(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location")
}

// preflight answers OPTIONS, a CORS preflight or not, for a route that
// takes methods: 204, every method allowed, and the headers asked for (or,
// when none are, the two a client of this API sends).
func preflight(w http.ResponseWriter, r *http.Request, methods []string) {
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
}
