package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHealthAndIndex(t *testing.T) { forEachDialect(t, testHealthAndIndex) }

func testHealthAndIndex(t *testing.T, td testDialect) {
	c := td.client(t, blogYAML)
	if got := c.do("GET", "/health", nil).json(200); got["status"] != "ok" {
		t.Errorf("health: %v", got)
	}
	idx := c.do("GET", "/api", nil).json(200)
	if idx["name"] != "blog" || idx["version"] != "1.0.0" {
		t.Errorf("index: %v", idx)
	}
	ents := idx["entities"].([]any)
	if len(ents) != 2 {
		t.Fatalf("entities: %v", ents)
	}
	user := ents[0].(map[string]any)
	if user["name"] != "User" || user["path"] != "/api/users" {
		t.Errorf("user: %v", user)
	}
	f0 := user["fields"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(f0, map[string]any{"name": "username", "type": "string", "required": true, "unique": true}) {
		t.Errorf("username field: %v", f0)
	}
	if got := c.do("GET", "/api/openapi.json", nil).json(200); got["openapi"] != "3.1.0" {
		t.Errorf("openapi: %v", got["openapi"])
	}
	// HEAD answers like GET, without a body.
	if r := c.do("HEAD", "/health", nil); r.Code != 200 {
		t.Errorf("HEAD /health: %d", r.Code)
	}
}

func TestBlogCRUD(t *testing.T) { forEachDialect(t, testBlogCRUD) }

func testBlogCRUD(t *testing.T, td testDialect) {
	c := td.client(t, blogYAML)
	user := c.create("/api/users", map[string]any{"username": "ada", "email": "ada@example.com"})
	id, _ := user["id"].(string)
	if !uuidRE.MatchString(id) {
		t.Errorf("id %q is not a UUIDv7", id)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if s, _ := user[k].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`).MatchString(s) {
			t.Errorf("%s = %q", k, user[k])
		}
	}
	post := c.create("/api/posts", map[string]any{"title": "Hello", "userId": id})
	if post["content"] != nil || post["title"] != "Hello" {
		t.Errorf("post: %v", post)
	}
	pid := post["id"].(string)

	r := c.do("POST", "/api/posts", map[string]any{"title": "Loc", "userId": id})
	if loc := r.Header().Get("Location"); !strings.HasPrefix(loc, "/api/posts/") {
		t.Errorf("Location %q", loc)
	}

	got := c.do("GET", "/api/posts/"+pid, nil).json(200)
	if !reflect.DeepEqual(got, post) {
		t.Errorf("GET: %v, want %v", got, post)
	}

	// PUT replaces: omitted optional fields are cleared.
	c.do("PATCH", "/api/posts/"+pid, map[string]any{"content": "body"}).json(200)
	put := c.do("PUT", "/api/posts/"+pid, map[string]any{"title": "Replaced", "userId": id}).json(200)
	if put["title"] != "Replaced" || put["content"] != nil || put["createdAt"] != post["createdAt"] || put["id"] != pid {
		t.Errorf("PUT: %v", put)
	}
	// PATCH merges.
	patched := c.do("PATCH", "/api/posts/"+pid, map[string]any{"content": "More"}).json(200)
	if patched["title"] != "Replaced" || patched["content"] != "More" {
		t.Errorf("PATCH: %v", patched)
	}
	// null clears an optional field; a required one stays required.
	patched = c.do("PATCH", "/api/posts/"+pid, map[string]any{"content": nil}).json(200)
	if patched["content"] != nil {
		t.Errorf("PATCH null: %v", patched)
	}
	_, fields := c.do("PATCH", "/api/posts/"+pid, map[string]any{"title": nil}).apiErr(400)
	if fields["title"] != "is required" {
		t.Errorf("PATCH required null: %v", fields)
	}
	// A fetched record can be sent back whole.
	back := c.do("GET", "/api/posts/"+pid, nil).json(200)
	back["title"] = "Round trip"
	if got := c.do("PUT", "/api/posts/"+pid, back).json(200); got["title"] != "Round trip" {
		t.Errorf("round trip: %v", got)
	}

	if r := c.do("DELETE", "/api/posts/"+pid, nil); r.Code != 204 || r.Body.Len() != 0 {
		t.Errorf("DELETE: %d %s", r.Code, r.Body.String())
	}
	c.do("GET", "/api/posts/"+pid, nil).apiErr(404)
	c.do("DELETE", "/api/posts/"+pid, nil).apiErr(404)
	c.do("PUT", "/api/posts/"+pid, map[string]any{"title": "x", "userId": id}).apiErr(404)
	c.do("PATCH", "/api/posts/"+pid, map[string]any{"title": "x"}).apiErr(404)

	// unique
	msg, fields := c.do("POST", "/api/users", map[string]any{"username": "ada", "email": "other@example.com"}).apiErr(409)
	if fields["username"] != "is already taken by another User" {
		t.Errorf("409: %s %v", msg, fields)
	}
	other := c.create("/api/users", map[string]any{"username": "bob", "email": "bob@example.com"})
	_, fields = c.do("PATCH", "/api/users/"+other["id"].(string), map[string]any{"username": "ada"}).apiErr(409)
	if fields["username"] == "" {
		t.Errorf("PATCH 409 fields: %v", fields)
	}
	// Writing a record's own unique value again is no clash.
	c.do("PUT", "/api/users/"+id, map[string]any{"username": "ada", "email": "new@example.com"}).json(200)
}

func TestEveryTypeAndRule(t *testing.T) { forEachDialect(t, testEveryTypeAndRule) }

func testEveryTypeAndRule(t *testing.T, td testDialect) {
	c := td.client(t, shopYAML)
	cat := c.create("/api/categories", map[string]any{"title": "Tools"})
	catID := cat["id"].(string)

	p := c.create("/api/products", map[string]any{
		"name":        "Hammer",
		"description": "Hits nails",
		"price":       12.5,
		"releasedAt":  "2024-05-01T12:00:00+02:00",
		"category":    catID,
		"meta":        map[string]any{"tags": []any{"a", "b"}, "weight": 1.5},
		"sku":         "H-1",
	})
	want := map[string]any{
		"name": "Hammer", "description": "Hits nails", "price": 12.5,
		"stock": float64(0), "active": true, "status": "draft", // defaults
		"releasedAt": "2024-05-01T10:00:00Z", "category": catID,
		"meta": map[string]any{"tags": []any{"a", "b"}, "weight": 1.5}, "sku": "H-1",
	}
	for k, v := range want {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("%s = %#v, want %#v", k, p[k], v)
		}
	}
	// Key order: id, fields as declared, createdAt, updatedAt.
	raw := c.do("GET", "/api/products/"+p["id"].(string), nil).Body.String()
	order := []string{`"id"`, `"name"`, `"description"`, `"price"`, `"stock"`, `"active"`, `"releasedAt"`, `"status"`, `"category"`, `"meta"`, `"sku"`, `"createdAt"`, `"updatedAt"`}
	last := -1
	for _, k := range order {
		i := strings.Index(raw, k+":")
		if i <= last {
			t.Errorf("key %s out of order in %s", k, raw)
		}
		last = i
	}

	// Values that pass.
	ok := []map[string]any{
		{"name": "Saw", "stock": 3.0},                // 3.0 is an integer
		{"name": "Drill", "stock": 1e3},              // so is 1e3
		{"name": "Vice", "releasedAt": "2024-05-01"}, // a full date
		{"name": "Level", "releasedAt": "2024-05-01T01:02:03.5Z"},
		{"name": "Clamp", "active": false, "status": "published"},
		{"name": "Awl", "meta": "just a string"},
		{"name": "Pliers", "meta": []any{1, "two", nil}},
		{"name": "Ab", "price": 0}, // min length and min value are inclusive
		{"name": "Abcdefghijklmnopqrst", "price": 1000},
		{"name": "Unicode ok", "description": strings.Repeat("é", 1000)}, // length counts characters
		{"name": "Nulls", "price": nil, "sku": nil, "meta": nil},
	}
	for _, body := range ok {
		c.create("/api/products", body)
	}
	got := c.do("GET", "/api/products?name=Vice", nil).json(200)["items"].([]any)[0].(map[string]any)
	if got["releasedAt"] != "2024-05-01T00:00:00Z" {
		t.Errorf("full date stored as %v", got["releasedAt"])
	}
	got = c.do("GET", "/api/products?name=Level", nil).json(200)["items"].([]any)[0].(map[string]any)
	if got["releasedAt"] != "2024-05-01T01:02:03.5Z" {
		t.Errorf("fraction: %v", got["releasedAt"])
	}
	got = c.do("GET", "/api/products?name=Drill", nil).json(200)["items"].([]any)[0].(map[string]any)
	if got["stock"] != float64(1000) {
		t.Errorf("1e3: %v", got["stock"])
	}

	// Every failing field is listed.
	tests := []struct {
		body map[string]any
		want map[string]string
	}{
		{map[string]any{}, map[string]string{"name": "is required"}},
		{map[string]any{"name": 5}, map[string]string{"name": "must be a string"}},
		{map[string]any{"name": "A"}, map[string]string{"name": "must be at least 2 characters long"}},
		{map[string]any{"name": strings.Repeat("a", 21)}, map[string]string{"name": "must be at most 20 characters long"}},
		{map[string]any{"name": "no digits 1"}, map[string]string{"name": "must match the pattern ^[A-Za-z ]+$"}},
		{map[string]any{"name": "Ok", "description": strings.Repeat("x", 1001)}, map[string]string{"description": "must be at most 1000 characters long"}},
		{map[string]any{"name": "Ok", "price": "12"}, map[string]string{"price": "must be a number"}},
		{map[string]any{"name": "Ok", "price": -1}, map[string]string{"price": "must be at least 0"}},
		{map[string]any{"name": "Ok", "price": 1000.5}, map[string]string{"price": "must be at most 1000"}},
		{map[string]any{"name": "Ok", "stock": 1.5}, map[string]string{"stock": "must be an integer"}},
		{map[string]any{"name": "Ok", "stock": "3"}, map[string]string{"stock": "must be an integer"}},
		{map[string]any{"name": "Ok", "stock": -1}, map[string]string{"stock": "must be at least 0"}},
		{map[string]any{"name": "Ok", "stock": 1e30}, map[string]string{"stock": "is out of the 64-bit integer range"}},
		{map[string]any{"name": "Ok", "active": "yes"}, map[string]string{"active": "must be a boolean"}},
		{map[string]any{"name": "Ok", "releasedAt": "yesterday"}, map[string]string{"releasedAt": "must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"}},
		{map[string]any{"name": "Ok", "releasedAt": "2024-13-01"}, map[string]string{"releasedAt": "must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"}},
		{map[string]any{"name": "Ok", "releasedAt": 1714560000}, map[string]string{"releasedAt": "must be an RFC 3339 date-time or date string, like 2024-05-01T12:00:00Z"}},
		{map[string]any{"name": "Ok", "status": "archived"}, map[string]string{"status": "must be one of: draft, published"}},
		{map[string]any{"name": "Ok", "category": 7}, map[string]string{"category": "must be the id (a string) of a Category"}},
		{map[string]any{"name": "Ok", "colour": "red", "size": 1}, map[string]string{"colour": "unknown field", "size": "unknown field"}},
		{map[string]any{"name": "Ok", "id": "mine"}, map[string]string{"id": "is set by the server"}},
		{ // all at once
			map[string]any{"name": 1, "price": "x", "stock": 0.5, "active": 1, "status": "x", "extra": true},
			map[string]string{"name": "must be a string", "price": "must be a number", "stock": "must be an integer",
				"active": "must be a boolean", "status": "must be one of: draft, published", "extra": "unknown field"},
		},
	}
	for _, tt := range tests {
		msg, fields := c.do("POST", "/api/products", tt.body).apiErr(400)
		if !reflect.DeepEqual(fields, tt.want) {
			t.Errorf("POST %v: %s %v, want %v", tt.body, msg, fields, tt.want)
		}
	}

	// ref to a missing record → 422
	msg, fields := c.do("POST", "/api/products", map[string]any{"name": "Ghost", "category": "nope"}).apiErr(422)
	if fields["category"] != "refers to a Category that does not exist (id nope)" {
		t.Errorf("422: %s %v", msg, fields)
	}
	c.do("PATCH", "/api/products/"+p["id"].(string), map[string]any{"category": "nope"}).apiErr(422)
	// unique (an optional unique field may be empty in many records)
	c.do("POST", "/api/products", map[string]any{"name": "Dup", "sku": "H-1"}).apiErr(409)
	c.create("/api/products", map[string]any{"name": "No sku"})
	// A referenced record cannot be deleted.
	msg, fields = c.do("DELETE", "/api/categories/"+catID, nil).apiErr(409)
	if fields["Product.category"] != "1 Product record refers to this record" {
		t.Errorf("delete referenced: %s %v", msg, fields)
	}
	c.do("PATCH", "/api/products/"+p["id"].(string), map[string]any{"category": nil}).json(200)
	if r := c.do("DELETE", "/api/categories/"+catID, nil); r.Code != 204 {
		t.Errorf("delete unreferenced: %d", r.Code)
	}
	// A record referring to itself does not block its own deletion.
	s := c.create("/api/stories", map[string]any{})
	sid := s["id"].(string)
	c.do("PATCH", "/api/stories/"+sid, map[string]any{"parent": sid}).json(200)
	child := c.create("/api/stories", map[string]any{"parent": sid})
	c.do("DELETE", "/api/stories/"+sid, nil).apiErr(409)
	c.do("DELETE", "/api/stories/"+child["id"].(string), nil)
	if r := c.do("DELETE", "/api/stories/"+sid, nil); r.Code != 204 {
		t.Errorf("delete self-referencing: %d %s", r.Code, r.Body.String())
	}
}

func TestRequestErrors(t *testing.T) { forEachDialect(t, testRequestErrors) }

func testRequestErrors(t *testing.T, td testDialect) {
	c := td.client(t, blogYAML)
	u := c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	uid := u["id"].(string)
	valid := `{"username":"bob","email":"b@x"}`

	// 415
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		c.do("POST", "/api/users", valid, "Content-Type", ct).apiErr(415)
		c.do("PUT", "/api/users/"+uid, valid, "Content-Type", ct).apiErr(415)
		c.do("PATCH", "/api/users/"+uid, valid, "Content-Type", ct).apiErr(415)
	}
	c.create("/api/users", map[string]any{"username": "charset", "email": "c@x"}) // sanity
	if r := c.do("POST", "/api/users", `{"username":"cs","email":"c@x"}`, "Content-Type", "application/json; charset=utf-8"); r.Code != 201 {
		t.Errorf("charset param: %d", r.Code)
	}
	if r := c.do("PATCH", "/api/users/"+uid, `{"email":"m@x"}`, "Content-Type", "application/merge-patch+json"); r.Code != 200 {
		t.Errorf("merge-patch: %d", r.Code)
	}
	// 413
	big := `{"username":"` + strings.Repeat("a", MaxBodyBytes) + `","email":"x"}`
	c.do("POST", "/api/users", big).apiErr(413)
	// 413 without a Content-Length (chunked)
	req := httpRequest("POST", "/api/users", big)
	req.ContentLength = -1
	rec := serve(c, req)
	if rec.Code != 413 {
		t.Errorf("chunked big body: %d", rec.Code)
	}
	// 400: malformed, not an object, empty, trailing data
	for _, body := range []string{`{"username":`, `[1,2]`, `"str"`, `null`, ``, `   `, `{"username":"x","email":"y"} {}`, `{"username":"x",}`} {
		msg, _ := c.do("POST", "/api/users", body).apiErr(400)
		if msg == "" {
			t.Errorf("no message for %q", body)
		}
	}
	msg, _ := c.do("POST", "/api/users", `{"username":`).apiErr(400)
	if !strings.HasPrefix(msg, "malformed JSON") {
		t.Errorf("malformed: %q", msg)
	}
	// PUT with another id in the body
	_, fields := c.do("PUT", "/api/users/"+uid, map[string]any{"id": "other", "username": "ada", "email": "a@x"}).apiErr(400)
	if fields["id"] != "does not match the id in the URL" {
		t.Errorf("id mismatch: %v", fields)
	}
	// 404s
	c.do("GET", "/api/users/nope", nil).apiErr(404)
	c.do("GET", "/api/widgets", nil).apiErr(404)
	c.do("GET", "/nothing", nil).apiErr(404)
	c.do("GET", "/api/users/a/b", nil).apiErr(404)
	c.do("GET", "/", nil).apiErr(404)
	// A trailing slash is tolerated.
	c.do("GET", "/api/users/", nil).json(200)
	// 405
	for _, tt := range []struct{ method, path, allow string }{
		{"DELETE", "/api/users", "GET, HEAD, POST, OPTIONS"},
		{"PUT", "/api/users", "GET, HEAD, POST, OPTIONS"},
		{"POST", "/api/users/" + uid, "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
		{"POST", "/health", "GET, HEAD, OPTIONS"},
		{"DELETE", "/api", "GET, HEAD, OPTIONS"},
		{"POST", "/api/openapi.json", "GET, HEAD, OPTIONS"},
	} {
		r := c.do(tt.method, tt.path, nil)
		r.apiErr(405)
		if got := r.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

// TestInternalErrorsAreJSON: a failing database answers 500 in the JSON
// error shape, without the SQL error in it (that goes to the log), and a
// request whose client has gone away ends with 499, not a 500.
func TestInternalErrorsAreJSON(t *testing.T) { forEachDialect(t, testInternalErrorsAreJSON) }

func testInternalErrorsAreJSON(t *testing.T, td testDialect) {
	c := td.client(t, blogYAML)
	if _, err := c.db.Exec(`DROP TABLE "Post"`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/posts", "/api/posts/01900000-0000-7000-8000-000000000000"} {
		if msg, _ := c.do("GET", path, nil).apiErr(500); msg != "internal error" {
			t.Errorf("GET %s: message %q, want \"internal error\"", path, msg)
		}
	}
	if msg, _ := c.do("POST", "/api/posts", `{"title":"t","userId":"u"}`).apiErr(500); msg != "internal error" {
		t.Errorf("POST: message %q", msg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := serve(c, httpRequest("GET", "/api/users", "").WithContext(ctx))
	if rec.Code != 499 || !strings.Contains(rec.Body.String(), "request canceled") {
		t.Errorf("canceled request: %d %s", rec.Code, rec.Body)
	}
}

func TestCORS(t *testing.T) {
	c := newClient(t, blogYAML)
	r := c.do("OPTIONS", "/api/users", nil,
		"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, x-token")
	if r.Code != 204 {
		t.Fatalf("preflight: %d", r.Code)
	}
	h := r.Header()
	if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Headers") != "content-type, x-token" || h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight headers: %v", h)
	}
	r = c.do("OPTIONS", "/api/users/x", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "DELETE")
	if r.Code != 204 || !strings.Contains(r.Header().Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Errorf("item preflight: %d %v", r.Code, r.Header())
	}
	for _, path := range []string{"/health", "/api/users", "/api/users/nope", "/nowhere"} {
		if got := c.do("GET", path, nil, "Origin", "https://app.example").Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", path, got)
		}
	}
	if got := c.do("POST", "/api/users", "{", "Origin", "https://x").Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("error response without CORS header")
	}
}

func TestList(t *testing.T) { forEachDialect(t, testList) }

func testList(t *testing.T, td testDialect) {
	c := td.client(t, shopYAML)
	var ids []string
	for i := range 12 {
		p := c.create("/api/products", map[string]any{
			"name":       "Item " + string(rune('A'+i)),
			"price":      float64(i) * 1.5,
			"stock":      i % 4,
			"active":     i%2 == 0,
			"releasedAt": fmt.Sprintf("2024-01-%02dT00:00:00Z", i+1),
			"status":     []string{"draft", "published"}[i%2],
			"meta":       map[string]any{"i": i},
		})
		ids = append(ids, p["id"].(string))
	}
	list := func(query string) (names []string, body map[string]any) {
		t.Helper()
		body = c.do("GET", "/api/products?"+query, nil).json(200)
		for _, it := range body["items"].([]any) {
			names = append(names, strings.TrimPrefix(it.(map[string]any)["name"].(string), "Item "))
		}
		return names, body
	}
	names, body := list("")
	if len(names) != 12 || body["total"] != float64(12) || body["limit"] != float64(50) || body["offset"] != float64(0) {
		t.Fatalf("default list: %v %v", names, body)
	}
	if strings.Join(names, "") != "ABCDEFGHIJKL" {
		t.Errorf("default order is creation order: %v", names)
	}
	names, body = list("limit=5&offset=10")
	if strings.Join(names, "") != "KL" || body["total"] != float64(12) || body["limit"] != float64(5) || body["offset"] != float64(10) {
		t.Errorf("paging: %v %v", names, body)
	}
	names, body = list("offset=100")
	if len(names) != 0 || body["total"] != float64(12) {
		t.Errorf("past the end: %v %v", names, body)
	}
	if items := body["items"].([]any); items == nil {
		t.Errorf("items must be [] not null")
	}
	for query, want := range map[string]string{
		"sort=-price":                                "LKJIHGFEDCBA",
		"sort=price":                                 "ABCDEFGHIJKL",
		"sort=stock,-name":                           "IEAJFBKGCLHD",
		"sort=-createdAt":                            "LKJIHGFEDCBA",
		"active=true":                                "ACEGIK",
		"active=false&sort=-name":                    "LJHFDB",
		"stock=2":                                    "CGK",
		"stock=1&stock=2":                            "BCFGJK",
		"stock[ne]=0":                                "BCDFGHJKL",
		"status=published&stock=3":                   "DHL",
		"price[gt]=12":                               "JKL",
		"price[gte]=12":                              "IJKL",
		"price[lt]=3":                                "AB",
		"price[lte]=3&price[gt]=0":                   "BC",
		"stock[gte]=2&stock[lt]=3":                   "CGK",
		"releasedAt[gt]=2024-01-10":                  "KL",
		"releasedAt[lte]=2024-01-02T00:00:00Z":       "AB",
		"releasedAt[lt]=2024-01-02T01:00:00%2B02:00": "A", // 2024-01-01T23:00Z
		"name=Item C":                                "C",
		"name[eq]=Item D":                            "D",
		"description[null]=true&limit=2":             "AB",
		"meta[null]=false&sort=-name&limit=1":        "L",
		"id=" + ids[3]:                               "D",
		"id[ne]=" + ids[0] + "&limit=1":              "B",
	} {
		names, _ := list(strings.ReplaceAll(query, " ", "%20"))
		if got := strings.Join(names, ""); got != want {
			t.Errorf("%s: got %s, want %s", query, got, want)
		}
	}
	_, body = list("active=true&limit=2")
	if body["total"] != float64(6) {
		t.Errorf("total counts every match: %v", body["total"])
	}
	created := c.do("GET", "/api/products/"+ids[5], nil).json(200)["createdAt"].(string)
	names, _ = list("createdAt[gte]=" + url.QueryEscape(created) + "&sort=name")
	if strings.Join(names, "") != "FGHIJKL" {
		t.Errorf("createdAt filter: %v", names)
	}

	for query, field := range map[string]string{
		"limit=501":           "limit",
		"limit=0":             "limit",
		"limit=abc":           "limit",
		"offset=-1":           "offset",
		"sort=colour":         "sort",
		"sort=-meta":          "sort",
		"colour=red":          "colour",
		"price[gt]=cheap":     "price[gt]",
		"stock=1.5":           "stock",
		"active=maybe":        "active",
		"releasedAt[gt]=x":    "releasedAt[gt]",
		"name[gt]=a":          "name[gt]",
		"status[lt]=draft":    "status[lt]",
		"price[like]=1":       "price[like]",
		"meta=1":              "meta",
		"description[null]=x": "description[null]",
	} {
		msg, fields := c.do("GET", "/api/products?"+query, nil).apiErr(400)
		if fields[field] == "" {
			t.Errorf("%s: %s %v, want a message for %s", query, msg, fields, field)
		}
	}
	_, fields := c.do("GET", "/api/products?colour=red&limit=900", nil).apiErr(400)
	if len(fields) != 2 {
		t.Errorf("every bad parameter is reported: %v", fields)
	}
	if got := c.do("GET", "/api/products?limit=500", nil).json(200)["limit"]; got != float64(500) {
		t.Errorf("limit 500: %v", got)
	}
}

func TestHandlerNeedsMigration(t *testing.T) { forEachDialect(t, testHandlerNeedsMigration) }

func testHandlerNeedsMigration(t *testing.T, td testDialect) {
	db := td.open(t)
	if _, err := Handler(mustParse(t, blogYAML), db); err == nil || !strings.Contains(err.Error(), "Migrate") {
		t.Errorf("Handler on an empty database: %v", err)
	}
	if _, err := Handler(nil, db); err == nil {
		t.Error("Handler(nil) succeeded")
	}
	if err := Migrate(context.Background(), db, nil); err == nil {
		t.Error("Migrate(nil) succeeded")
	}
}

func TestConcurrentWrites(t *testing.T) { forEachDialect(t, testConcurrentWrites) }

func testConcurrentWrites(t *testing.T, td testDialect) {
	c := td.client(t, blogYAML)
	const n = 20
	errc := make(chan string, n)
	for i := range n {
		go func() {
			r := c.do("POST", "/api/users", map[string]any{"username": fmt.Sprint("u", i%10), "email": "e"})
			errc <- fmt.Sprint(r.Code)
		}()
	}
	counts := map[string]int{}
	for range n {
		counts[<-errc]++
	}
	if counts["201"] != 10 || counts["409"] != 10 {
		t.Errorf("statuses: %v", counts)
	}
	if got := c.do("GET", "/api/users", nil).json(200)["total"]; got != float64(10) {
		t.Errorf("total %v", got)
	}
}

func httpRequest(method, path, body string) *http.Request {
	req, _ := http.NewRequest(method, "http://test"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// A manifest that went through JSON (say, stored by the server) still
// enforces its patterns.
func TestManifestFromJSON(t *testing.T) { forEachDialect(t, testManifestFromJSON) }

func testManifestFromJSON(t *testing.T, td testDialect) {
	data, err := json.Marshal(mustParse(t, shopYAML))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	db := td.open(t)
	if err := Migrate(context.Background(), db, &m); err != nil {
		t.Fatal(err)
	}
	h, err := Handler(&m, db)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, h: h, db: db}
	_, fields := c.do("POST", "/api/products", map[string]any{"name": "digits 1"}).apiErr(400)
	if fields["name"] != "must match the pattern ^[A-Za-z ]+$" {
		t.Errorf("got %v", fields)
	}
	p := c.create("/api/products", map[string]any{"name": "Saw"})
	if p["stock"] != float64(0) || p["status"] != "draft" || p["active"] != true {
		t.Errorf("defaults: %v", p)
	}
}
