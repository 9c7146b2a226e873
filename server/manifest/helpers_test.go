package manifest

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// blogYAML is the original design's example; it must parse and serve as is.
const blogYAML = `name: blog
version: 1.0.0
entities:
  - name: User
    fields:
      - name: username
        type: string
        required: true
        unique: true
      - name: email
        type: string
        required: true
  - name: Post
    fields:
      - name: title
        type: string
        required: true
      - name: content
        type: text
      - name: userId
        type: string
        required: true
`

// shopYAML uses every type and rule.
const shopYAML = `name: shop
version: "2"
entities:
  - name: Category
    fields:
      - name: title
        type: string
        required: true
        unique: true
  - name: Product
    fields:
      - name: name
        type: string
        required: true
        min: 2
        max: 20
        pattern: "^[A-Za-z ]+$"
      - name: description
        type: text
        max: 1000
      - name: price
        type: number
        min: 0
        max: 1000
      - name: stock
        type: integer
        min: 0
        default: 0
      - name: active
        type: boolean
        default: true
      - name: releasedAt
        type: date
      - name: status
        type: enum
        enum: [draft, published]
        default: draft
      - name: category
        type: ref
        ref: Category
      - name: meta
        type: json
      - name: sku
        type: string
        unique: true
  - name: Box
    fields:
      - name: label
        type: string
  - name: Story
    fields:
      - name: parent
        type: ref
        ref: Story
`

func mustParse(t testing.TB, src string) *Manifest {
	t.Helper()
	m, diags := Parse([]byte(src))
	if len(diags) > 0 {
		t.Fatalf("Parse: %v", diags)
	}
	return m
}

type client struct {
	t  testing.TB
	h  http.Handler
	db *sql.DB
}

// newClient parses src, migrates a new SQLite database to it and serves it.
func newClient(t testing.TB, src string) *client {
	t.Helper()
	return testDialects[0].client(t, src)
}

type response struct {
	*httptest.ResponseRecorder
	t testing.TB
}

// do sends body (a string is sent as is, anything else as JSON) with
// Content-Type application/json.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return response{rec, c.t}
}

// json decodes the body, failing unless it is JSON with the given status.
func (r response) json(status int) map[string]any {
	r.t.Helper()
	if r.Code != status {
		r.t.Fatalf("status %d, want %d; body %s", r.Code, status, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); ct != "application/json" {
		r.t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.Body.String())
	}
	var out map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &out); err != nil {
		r.t.Fatalf("body is not a JSON object: %v: %s", err, r.Body.String())
	}
	return out
}

// apiErr checks an error response and returns its fields as field → message.
func (r response) apiErr(status int) (string, map[string]string) {
	r.t.Helper()
	body := r.json(status)
	e, ok := body["error"].(map[string]any)
	if !ok {
		r.t.Fatalf("no error object in %s", r.Body.String())
	}
	if got := int(e["status"].(float64)); got != status {
		r.t.Fatalf("error.status %d, want %d", got, status)
	}
	fields := map[string]string{}
	if list, ok := e["fields"].([]any); ok {
		for _, x := range list {
			fe := x.(map[string]any)
			fields[fe["field"].(string)] = fe["message"].(string)
		}
	}
	return e["message"].(string), fields
}

func (c *client) create(path string, body any) map[string]any {
	c.t.Helper()
	return c.do("POST", path, body).json(http.StatusCreated)
}

func serve(c *client, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec
}
