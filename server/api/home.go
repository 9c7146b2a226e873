package api

import (
	_ "embed"
	"net/http"
)

//go:embed home.html
var homePage []byte

// homeHandler serves the page at / and answers 404 elsewhere. The dashboard
// will be served from these paths once it is built; until then the page
// says how to use the API.
func homeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(homePage)
	})
}
