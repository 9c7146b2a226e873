package manifest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// app is a database migrated step by step, served by the last manifest
// applied.
type app struct {
	t  *testing.T
	td testDialect
	db *sql.DB
	c  *client
}

func newApp(t *testing.T, td testDialect, src string) *app {
	a := &app{t: t, td: td, db: td.open(t)}
	if err := a.migrate(src); err != nil {
		t.Fatal(err)
	}
	return a
}

// migrate applies src and, when it succeeds, serves it.
func (a *app) migrate(src string) error {
	a.t.Helper()
	m := mustParse(a.t, a.td.src(src))
	if err := Migrate(context.Background(), a.db, m); err != nil {
		return err
	}
	h, err := Handler(m, a.db)
	if err != nil {
		a.t.Fatal(err)
	}
	a.c = &client{t: a.t, h: h, db: a.db}
	return nil
}

// snapshot is everything in the database: schema, meta rows and data.
func (a *app) snapshot() string {
	a.t.Helper()
	var b strings.Builder
	rows, err := a.db.Query(a.td.schema)
	if err != nil {
		a.t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, sql string
		rows.Scan(&typ, &name, &sql)
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, sql)
	}
	rows.Close()
	var tables []string
	for table, typ := range a.schemaNames() {
		if typ == "table" {
			tables = append(tables, table)
		}
	}
	slices.Sort(tables)
	for _, table := range tables {
		rows, err := a.db.Query(`SELECT * FROM ` + quoteIdent(table) + ` ORDER BY 1`)
		if err != nil {
			a.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals, _ := scanRecord(rows, len(cols))
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

// schemaNames lists the tables and indexes as the runtime sees them, name
// → "table" or "index".
func (a *app) schemaNames() map[string]string {
	rows, err := a.db.Query(dialectOf(a.db).listSchema)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var typ, name string
		rows.Scan(&typ, &name)
		out[name] = typ
	}
	return out
}

// columns lists table's columns and their types, in order.
func (a *app) columns(table string) (names, types []string) {
	rows, err := a.db.Query(a.td.columns, table)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, typ string
		rows.Scan(&n, &typ)
		names, types = append(names, n), append(types, typ)
	}
	return names, types
}

func (a *app) metaRows() int {
	var n int
	if err := a.db.QueryRow(`SELECT COUNT(*) FROM _cr_manifest`).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// blogWith is the blog manifest with extra field YAML appended to Post's
// fields (before) and extra entities after.
func blogWith(postFields, entities string) string {
	return blogYAML + postFields + entities
}

func TestMigrateSafeChanges(t *testing.T) { forEachDialect(t, testMigrateSafeChanges) }

func testMigrateSafeChanges(t *testing.T, td testDialect) {
	a := newApp(t, td, blogYAML)
	u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	p := a.c.create("/api/posts", map[string]any{"title": "Hello", "content": "Body", "userId": u["id"]})
	pid := p["id"].(string)

	v2 := blogWith(`      - name: summary
        type: text
      - name: status
        type: enum
        enum: [draft, published]
        required: true
        default: published
      - name: views
        type: integer
        default: 0
`, `  - name: Comment
    fields:
      - name: post
        type: ref
        ref: Post
        required: true
      - name: body
        type: text
        required: true
`)
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	got := a.c.do("GET", "/api/posts/"+pid, nil).json(200)
	want := map[string]any{"title": "Hello", "content": "Body", "userId": u["id"], "summary": nil, "status": "published", "views": float64(0)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["createdAt"] != p["createdAt"] || got["updatedAt"] != p["updatedAt"] {
		t.Errorf("timestamps changed: %v", got)
	}
	a.c.create("/api/comments", map[string]any{"post": pid, "body": "Nice"})
	a.c.do("POST", "/api/comments", map[string]any{"post": "missing", "body": "x"}).apiErr(422)
	if got := a.c.do("GET", "/api/users", nil).json(200)["total"]; got != float64(1) {
		t.Errorf("users: %v", got)
	}

	// The same manifest again changes nothing.
	before, rows := a.snapshot(), a.metaRows()
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	if a.snapshot() != before || a.metaRows() != rows || rows != 2 {
		t.Errorf("re-applying the manifest changed the database (meta rows %d)", a.metaRows())
	}
	applied, err := AppliedManifest(context.Background(), a.db)
	if err != nil || !strings.Contains(string(applied), `"Comment"`) {
		t.Errorf("AppliedManifest: %s %v", applied, err)
	}
}

func TestMigrateUnsafeChanges(t *testing.T) { forEachDialect(t, testMigrateUnsafeChanges) }

func testMigrateUnsafeChanges(t *testing.T, td testDialect) {
	withRating := blogWith("      - name: rating\n        type: integer\n        required: true\n", "")
	tests := []struct {
		name string
		src  string
		want []string // in the error message, one per problem
	}{
		{"type change", strings.Replace(blogYAML, "      - name: title\n        type: string", "      - name: title\n        type: integer", 1),
			[]string{"Post.title: type changes from string to integer while 1 existing record has a value"}},
		{"new required field without default", withRating,
			[]string{"Post.rating: new required field has no default, so 1 existing record would have no value"}},
		{"unique added over duplicates", strings.Replace(blogYAML, "      - name: email\n        type: string\n", "      - name: email\n        type: string\n        unique: true\n", 1),
			[]string{`User.email: cannot become unique: 2 existing records share the value "same@x"`}},
		{"optional field made required", strings.Replace(blogYAML, "        type: text\n", "        type: text\n        required: true\n", 1),
			[]string{"Post.content: is now required but 1 existing record has no value"}},
		{"rules tightened", strings.Replace(blogYAML, "      - name: title\n        type: string\n", "      - name: title\n        type: string\n        max: 3\n", 1),
			[]string{"Post.title: 1 existing record breaks the new rules (record ", "must be at most 3 characters long"}},
		{"new unique field with a default", strings.Replace(blogYAML, "      - name: email\n        type: string\n        required: true\n",
			"      - name: email\n        type: string\n        required: true\n      - name: code\n        type: string\n        unique: true\n        default: abc\n", 1),
			[]string{"User.code: new unique field's default would give the 2 existing records the same value"}},
		{"every problem at once", strings.Replace(withRating, "      - name: title\n        type: string", "      - name: title\n        type: boolean", 1),
			[]string{"Post.title: type changes from string to boolean", "Post.rating: new required field has no default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, td, blogYAML)
			u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "same@x"})
			a.c.create("/api/users", map[string]any{"username": "bob", "email": "same@x"})
			p := a.c.create("/api/posts", map[string]any{"title": "Hello", "userId": u["id"]})
			old := a.c
			before := a.snapshot()

			err := a.migrate(tt.src)
			var me *MigrationError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MigrationError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.name == "every problem at once" && len(me.Problems) != 2 {
				t.Errorf("problems: %v", me.Problems)
			}
			if after := a.snapshot(); after != before {
				t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
			}
			// The previous manifest still serves.
			if got := old.do("GET", "/api/posts/"+p["id"].(string), nil).json(200); got["title"] != "Hello" {
				t.Errorf("old post: %v", got)
			}
			old.create("/api/posts", map[string]any{"title": "Still", "userId": u["id"]})
			if h, err := Handler(mustParse(t, blogYAML), a.db); err != nil {
				t.Errorf("Handler for the old manifest: %v", err)
			} else {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/posts", nil))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"total":2`) {
					t.Errorf("list: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

func TestMigrateEmptyTable(t *testing.T) { forEachDialect(t, testMigrateEmptyTable) }

func testMigrateEmptyTable(t *testing.T, td testDialect) {
	// With no records, a new required field and a type change are fine.
	a := newApp(t, td, blogWith("      - name: score\n        type: string\n", ""))
	u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	v2 := blogWith("      - name: score\n        type: integer\n        unique: true\n      - name: rating\n        type: number\n        required: true\n", "")
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	p := a.c.create("/api/posts", map[string]any{"title": "T", "userId": u["id"], "score": 5, "rating": 4.5})
	if p["score"] != float64(5) {
		t.Errorf("score %v", p["score"])
	}
	a.c.do("POST", "/api/posts", map[string]any{"title": "T", "userId": u["id"], "score": 5, "rating": 1}).apiErr(409)
	a.c.do("POST", "/api/posts", map[string]any{"title": "T", "userId": u["id"], "score": "5", "rating": 1}).apiErr(400)
	names, types := a.columns("Post")
	if i := slices.Index(names, "score"); i < 0 || !strings.EqualFold(types[i], dialectOf(a.db).columnType(TypeInteger)) {
		t.Errorf("score column types %v %v", names, types)
	}
}

func TestMigrateRulesWithData(t *testing.T) { forEachDialect(t, testMigrateRulesWithData) }

func testMigrateRulesWithData(t *testing.T, td testDialect) {
	a := newApp(t, td, blogYAML)
	u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	a.c.create("/api/posts", map[string]any{"title": "Hello", "userId": u["id"]})
	a.c.create("/api/posts", map[string]any{"title": "World", "content": "text", "userId": u["id"]})

	// A required field with a default fills the records that have no value;
	// unique over distinct values and looser rules are fine; text → string
	// keeps the data.
	v2 := strings.Replace(blogYAML, "      - name: content\n        type: text\n",
		"      - name: content\n        type: string\n        required: true\n        default: none\n", 1)
	v2 = strings.Replace(v2, "      - name: title\n        type: string\n        required: true\n",
		"      - name: title\n        type: text\n        required: true\n        unique: true\n        max: 10\n", 1)
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	items := a.c.do("GET", "/api/posts?sort=title", nil).json(200)["items"].([]any)
	if got := items[0].(map[string]any)["content"]; got != "none" {
		t.Errorf("filled content %v", got)
	}
	if got := items[1].(map[string]any)["content"]; got != "text" {
		t.Errorf("kept content %v", got)
	}
	a.c.do("POST", "/api/posts", map[string]any{"title": "Hello", "userId": u["id"]}).apiErr(409)

	// Enum values must cover the data.
	v3 := blogWith("      - name: kind\n        type: enum\n        enum: [a, b]\n", "")
	if err := a.migrate(v3); err != nil {
		t.Fatal(err)
	}
	a.c.create("/api/posts", map[string]any{"title": "K", "userId": u["id"], "kind": "b"})
	err := a.migrate(blogWith("      - name: kind\n        type: enum\n        enum: [a, c]\n", ""))
	if err == nil || !strings.Contains(err.Error(), "Post.kind: 1 existing record breaks the new rules") {
		t.Errorf("narrowed enum: %v", err)
	}
	if err := a.migrate(blogWith("      - name: kind\n        type: enum\n        enum: [a, b, c]\n", "")); err != nil {
		t.Errorf("widened enum: %v", err)
	}
}

func TestMigrateRemoveAndRestore(t *testing.T) { forEachDialect(t, testMigrateRemoveAndRestore) }

func testMigrateRemoveAndRestore(t *testing.T, td testDialect) {
	a := newApp(t, td, blogYAML)
	u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	p := a.c.create("/api/posts", map[string]any{"title": "Hello", "content": "Body", "userId": u["id"]})
	pid := p["id"].(string)

	// Remove Post.content and the User entity.
	v2 := `name: blog
version: 2.0.0
entities:
  - name: Post
    fields:
      - name: title
        type: string
        required: true
      - name: userId
        type: string
        required: true
`
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	got := a.c.do("GET", "/api/posts/"+pid, nil).json(200)
	if _, ok := got["content"]; ok {
		t.Errorf("removed field still served: %v", got)
	}
	a.c.do("GET", "/api/users", nil).apiErr(404)
	_, fields := a.c.do("POST", "/api/posts", map[string]any{"title": "New", "userId": "u", "content": "x"}).apiErr(400)
	if fields["content"] != "unknown field" {
		t.Errorf("removed field accepted: %v", fields)
	}
	a.c.create("/api/posts", map[string]any{"title": "New", "userId": "u"})
	if cols, _ := a.columns("Post"); !reflect.DeepEqual(cols, []string{"id", "createdAt", "updatedAt", "title", "content", "userId"}) {
		t.Errorf("columns after removal: %v", cols)
	}
	if cols, _ := a.columns("User"); len(cols) == 0 {
		t.Error("the removed entity's table was dropped")
	}

	// Declared again, they come back with their data.
	if err := a.migrate(blogYAML); err != nil {
		t.Fatal(err)
	}
	if got := a.c.do("GET", "/api/posts/"+pid, nil).json(200); got["content"] != "Body" {
		t.Errorf("restored content: %v", got["content"])
	}
	if got := a.c.do("GET", "/api/users/"+u["id"].(string), nil).json(200); got["username"] != "ada" {
		t.Errorf("restored user: %v", got)
	}
	a.c.do("POST", "/api/users", map[string]any{"username": "ada", "email": "b@x"}).apiErr(409) // unique index is back

	// Back under another type, while it has data: refused.
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	err := a.migrate(strings.Replace(blogYAML, "        type: text\n", "        type: integer\n", 1))
	if err == nil || !strings.Contains(err.Error(), "Post.content: type changes from text to integer") {
		t.Errorf("restoring with another type: %v", err)
	}
}

func TestMigrateForeignTable(t *testing.T) { forEachDialect(t, testMigrateForeignTable) }

func testMigrateForeignTable(t *testing.T, td testDialect) {
	db := td.open(t)
	if _, err := db.Exec(`CREATE TABLE "Post" (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	err := Migrate(context.Background(), db, mustParse(t, td.src(blogYAML)))
	if err == nil || !strings.Contains(err.Error(), `a table "Post" already exists`) {
		t.Errorf("got %v", err)
	}
}

// TestMigrateRenameCase: names are compared ignoring case, so an entity or
// field spelled in another case is the same one, with its data and rules.
func TestMigrateRenameCase(t *testing.T) { forEachDialect(t, testMigrateRenameCase) }

func testMigrateRenameCase(t *testing.T, td testDialect) {
	a := newApp(t, td, blogYAML)
	u := a.c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	p := a.c.create("/api/posts", map[string]any{"title": "Hello", "userId": u["id"]})
	v2 := strings.NewReplacer("name: Post\n", "name: POST\n", "name: title\n", "name: Title\n", "name: username\n", "name: userName\n").Replace(blogYAML)
	if err := a.migrate(v2); err != nil {
		t.Fatal(err)
	}
	if got := a.c.do("GET", "/api/posts/"+p["id"].(string), nil).json(200); got["Title"] != "Hello" {
		t.Errorf("renamed: %v", got)
	}
	if _, fields := a.c.do("POST", "/api/users", map[string]any{"userName": "ada", "email": "b@x"}).apiErr(409); fields["userName"] == "" {
		t.Errorf("unique after the rename: %v", fields)
	}
	if err := a.migrate(blogYAML); err != nil {
		t.Fatalf("back: %v", err)
	}
	if got := a.c.do("GET", "/api/posts/"+p["id"].(string), nil).json(200); got["title"] != "Hello" {
		t.Errorf("renamed back: %v", got)
	}
}
