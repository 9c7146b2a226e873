package manifest

import (
	"strings"
	"testing"
)

func TestDialectBind(t *testing.T) {
	q := `SELECT "a?b" FROM t WHERE x = ? AND y <> '?' AND z IN (?, ?) LIMIT ?`
	if got := sqliteDialect.bind(q); got != q {
		t.Errorf("sqlite: %s", got)
	}
	want := `SELECT "a?b" FROM t WHERE x = $1 AND y <> '?' AND z IN ($2, $3) LIMIT $4`
	if got := postgresDialect.bind(q); got != want {
		t.Errorf("postgres:\n got %s\nwant %s", got, want)
	}
}

// TestDialectIndexName: PostgreSQL's names are cut to 63 bytes, keeping
// apart the names that share the first ones.
func TestDialectIndexName(t *testing.T) {
	long := strings.Repeat("e", 40)
	if got := postgresDialect.indexName("ux", "Post", "title"); got != "_cr_ux:post.title" {
		t.Errorf("short name changed: %s", got)
	}
	a := postgresDialect.indexName("ux", long, long+"a")
	b := postgresDialect.indexName("ux", long, long+"b")
	if len(a) != 63 || a == b || !strings.HasPrefix(a, "_cr_ux:") || a != postgresDialect.indexName("ux", long, long+"a") {
		t.Errorf("long names: %s, %s", a, b)
	}
	if got := sqliteDialect.indexName("ux", long, long); got != indexName("ux", long, long) {
		t.Errorf("sqlite cut a name: %s", got)
	}
}

// TestMigrateLongNames: an index whose name is longer than PostgreSQL's
// identifiers is found again by the next migration, and still answers for
// its field.
func TestMigrateLongNames(t *testing.T) { forEachDialect(t, testMigrateLongNames) }

func testMigrateLongNames(t *testing.T, td testDialect) {
	entity, field := "E"+strings.Repeat("n", 40), "f"+strings.Repeat("x", 40)
	src := "name: long\nentities:\n  - name: " + entity + "\n    fields:\n      - name: " + field + "\n        type: string\n        unique: true\n"
	a := newApp(t, td, src)
	if err := a.migrate(src); err != nil {
		t.Fatalf("again: %v", err)
	}
	path := "/api/" + Plural(entity)
	a.c.create(path, map[string]any{field: "v"})
	if _, fields := a.c.do("POST", path, map[string]any{field: "v"}).apiErr(409); fields[field] == "" {
		t.Errorf("409 fields: %v", fields)
	}
}
