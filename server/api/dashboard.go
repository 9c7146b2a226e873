package api

import (
	"bytes"
	_ "embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dashboard_missing.html
var dashboardMissingPage []byte

// dashboardHandler serves the single-page dashboard from dist: files as they
// are, and index.html for every other GET so client-side routes
// (/deployments/<id>, /account) survive a reload. Paths under /api/ that no
// handler claimed stay 404: a typo in an API path must not answer HTML.
// A binary built without the dashboard serves a page saying how to build it.
func dashboardHandler(dist fs.FS) http.Handler {
	index, err := fs.ReadFile(dist, "index.html")
	if err != nil {
		index = nil
	}
	files := http.FileServerFS(dist)
	// Embedded files have no modification time; the binary's start stands
	// in so conditional requests still work.
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			http.NotFound(w, r)
			return
		}
		if index == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(dashboardMissingPage)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if info, err := fs.Stat(dist, name); err == nil && !info.IsDir() {
				// Vite puts content-hashed bundles under assets/: they
				// never change, so browsers may keep them.
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", started, bytes.NewReader(index))
	})
}
