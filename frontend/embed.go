// Package frontend embeds the dashboard's production build (frontend/dist,
// written by `npm run build`; `make build` and `make test` run it first), so
// one coderunner binary serves the dashboard and the API.
package frontend

import (
	"embed"
	"io/fs"
)

// The dist directory is git-ignored build output; `all:` keeps files whose
// names start with "_" or ".", which bundlers sometimes emit.
//
//go:embed all:dist
var dist embed.FS

// Dist returns the built dashboard, rooted at the directory holding
// index.html.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path; fs.Sub cannot fail on it
	}
	return sub
}
