package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDashboardHandler(t *testing.T) {
	dist := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><div id=root></div>")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	}
	h := dashboardHandler(dist)
	cases := []struct {
		method, path string
		status       int
		body         string
		cache        string
	}{
		{"GET", "/", 200, "<div id=root>", "no-cache"},
		{"GET", "/deployments/0b6f0c1e-2a55-4d4e-9a3c-1f1d2a3b4c5d", 200, "<div id=root>", "no-cache"},
		{"GET", "/account", 200, "<div id=root>", "no-cache"},
		{"GET", "/assets/app-1a2b.js", 200, "console.log(1)", "public, max-age=31536000, immutable"},
		{"GET", "/favicon.svg", 200, "<svg/>", ""},
		{"HEAD", "/", 200, "", "no-cache"},
		{"GET", "/api/nope", 404, "404 page not found", ""},
		{"POST", "/", 405, "method not allowed", ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s %s = %d %q, want %d containing %q", c.method, c.path, rec.Code, rec.Body.String(), c.status, c.body)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s %s Cache-Control = %q, want %q", c.method, c.path, got, c.cache)
		}
	}
}

func TestDashboardHandlerWithoutBuild(t *testing.T) {
	h := dashboardHandler(fstest.MapFS{".gitkeep": {}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "built without the web dashboard") {
		t.Fatalf("GET / without a build = %d %q", rec.Code, rec.Body.String())
	}
}
