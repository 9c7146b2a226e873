package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseBlog(t *testing.T) {
	m, diags := Parse([]byte(blogYAML))
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if m.Name != "blog" || m.Version != "1.0.0" || len(m.Entities) != 2 {
		t.Fatalf("got %+v", m)
	}
	user, post := m.Entity("User"), m.Entity("Post")
	if user == nil || post == nil {
		t.Fatal("entities missing")
	}
	if f := user.Field("username"); f == nil || f.Type != TypeString || !f.Required || !f.Unique {
		t.Errorf("username: %+v", f)
	}
	if f := post.Field("content"); f == nil || f.Type != TypeText || f.Required {
		t.Errorf("content: %+v", f)
	}
	if user.Plural() != "users" || post.Plural() != "posts" {
		t.Errorf("plurals %q %q", user.Plural(), post.Plural())
	}
}

func TestParseEveryType(t *testing.T) {
	m := mustParse(t, shopYAML)
	p := m.Entity("Product")
	if got := p.Field("stock").Default; got != json.Number("0") {
		t.Errorf("stock default %#v", got)
	}
	if got := p.Field("status"); !reflect.DeepEqual(got.Enum, []string{"draft", "published"}) || got.Default != "draft" {
		t.Errorf("status %+v", got)
	}
	if got := p.Field("name"); *got.Min != 2 || *got.Max != 20 || got.re == nil {
		t.Errorf("name %+v", got)
	}
	if got := p.Field("category"); got.Ref != "Category" {
		t.Errorf("category %+v", got)
	}
	// json defaults take any YAML value; dates may be plain YAML dates.
	m = mustParse(t, fieldsDoc(`      - name: settings
        type: json
        default: {theme: dark, sizes: [1, 2.5], on: true, none: null}
      - name: day
        type: date
        default: 2024-05-01
`))
	got, _ := json.Marshal(m.Entities[0].Fields[0].Default)
	if string(got) != `{"none":null,"on":true,"sizes":[1,2.5],"theme":"dark"}` {
		t.Errorf("json default %s", got)
	}
	if d := m.Entities[0].Fields[1].Default; d != "2024-05-01" {
		t.Errorf("date default %#v", d)
	}
}

func TestPlural(t *testing.T) {
	for name, want := range map[string]string{
		"Post": "posts", "User": "users", "Category": "categories", "Day": "days", "Key": "keys",
		"Address": "addresses", "Box": "boxes", "Match": "matches", "Wish": "wishes", "Quiz": "quizes",
		"BlogPost": "blogposts", "Person": "persons", "Y": "ys",
	} {
		if got := Plural(name); got != want {
			t.Errorf("Plural(%q) = %q, want %q", name, got, want)
		}
	}
}

// fieldsDoc wraps field YAML (first line is line 5) in a one-entity
// manifest. Field keys sit at column 9; a name's value at column 15.
func fieldsDoc(fields string) string {
	return "name: app\nentities:\n  - name: Post\n    fields:\n" + fields
}

func TestParseErrors(t *testing.T) {
	const p0 = "entities[0].fields[0]"
	const p1 = "entities[0].fields[1]"
	tests := []struct {
		name string
		src  string
		want []Diagnostic
	}{
		{"empty document", "", []Diagnostic{{0, 0, "", "the manifest is empty"}}},
		{"comments only", "# nothing\n", []Diagnostic{{0, 0, "", "the manifest is empty"}}},
		{"not a mapping", "- a\n- b\n", []Diagnostic{{1, 1, "", "the manifest must be a mapping, not a list"}}},
		{"yaml syntax", "name: app\nentities:\n  - name: [Post\n    fields: []\n", []Diagnostic{{3, 0, "", "YAML syntax error: did not find expected ',' or ']'"}}},
		{"yaml tab", "name: app\n\tentities: []\n", []Diagnostic{{2, 0, "", "YAML syntax error: found a tab character that violates indentation"}}},
		{"two documents", "name: app\nentities: [{name: A, fields: []}]\n---\nname: b\n", []Diagnostic{{3, 1, "", "only one YAML document is allowed; remove the '---' separator"}}},
		{"unknown top-level key", "name: app\ncolour: red\nentities:\n  - name: Post\n    fields: []\n",
			[]Diagnostic{{2, 1, "colour", `unknown key "colour" (expected one of: name, version, database, entities)`}}},
		{"unknown database", "name: app\ndatabase: mysql\nentities: [{name: A, fields: []}]\n",
			[]Diagnostic{{2, 11, "database", `unknown database "mysql" (expected one of: sqlite, postgres)`}}},
		{"database in capitals", "name: app\ndatabase: Postgres\nentities: [{name: A, fields: []}]\n",
			[]Diagnostic{{2, 11, "database", `unknown database "Postgres" (expected one of: sqlite, postgres)`}}},
		{"database not a string", "name: app\ndatabase: [postgres]\nentities: [{name: A, fields: []}]\n",
			[]Diagnostic{{2, 11, "database", "must be a non-empty string, not a list"}}},
		{"database empty", "name: app\ndatabase:\nentities: [{name: A, fields: []}]\n",
			[]Diagnostic{{2, 10, "database", "must be a non-empty string, not empty"}}},
		{"entity name reserved by PostgreSQL", "name: app\ndatabase: postgres\nentities:\n  - name: pg_class\n    fields: []\n",
			[]Diagnostic{{4, 11, "entities[0].name", `entity name "pg_class" is reserved: names starting with pg_ are reserved by PostgreSQL`}}},
		{"name too long for PostgreSQL", "name: app\ndatabase: postgres\nentities:\n  - name: Post\n    fields:\n      - name: " + strings.Repeat("x", 64) + "\n        type: string\n",
			[]Diagnostic{{6, 15, p0 + ".name", `field name "` + strings.Repeat("x", 64) + `" is longer than 63 characters, the most PostgreSQL allows`}}},
		{"duplicate key", "name: app\nname: other\nentities: [{name: A, fields: []}]\n",
			[]Diagnostic{{2, 1, "name", `duplicate key "name" (first at line 1)`}}},
		{"missing name and entities", "version: 1\n", []Diagnostic{
			{1, 1, "name", "name is required"},
			{1, 1, "entities", "entities is required: list at least one entity"},
		}},
		{"no entities", "name: app\nentities: []\n", []Diagnostic{{2, 11, "entities", "list at least one entity"}}},
		{"entities not a list", "name: app\nentities: {Post: {}}\n", []Diagnostic{{2, 11, "entities", "must be a list of entities, not a mapping"}}},
		{"unknown entity key", "name: app\nentities:\n  - name: Post\n    table: posts\n    fields: []\n",
			[]Diagnostic{{4, 5, "entities[0].table", `unknown key "table" (expected one of: name, fields)`}}},
		{"entity without fields", "name: app\nentities:\n  - name: Post\n",
			[]Diagnostic{{3, 5, "entities[0].fields", "an entity needs fields (a list, may be empty: fields: [])"}}},
		{"entity name not an identifier", "name: app\nentities:\n  - name: 1Post\n    fields: []\n",
			[]Diagnostic{{3, 11, "entities[0].name", `entity name "1Post" is not an identifier: use letters, digits and _, not starting with a digit`}}},
		{"reserved entity name", "name: app\nentities:\n  - name: sqlite_stuff\n    fields: []\n",
			[]Diagnostic{{3, 11, "entities[0].name", `entity name "sqlite_stuff" is reserved: names starting with sqlite_ are reserved by SQLite`}}},
		{"duplicate entity", "name: app\nentities:\n  - name: Post\n    fields: []\n  - name: Post\n    fields: []\n",
			[]Diagnostic{{5, 11, "entities[1].name", `duplicate entity name "Post" (first declared at line 3)`}}},
		{"duplicate entity ignoring case", "name: app\nentities:\n  - name: Post\n    fields: []\n  - name: POST\n    fields: []\n",
			[]Diagnostic{{5, 11, "entities[1].name", `entity name "POST" clashes with "Post" at line 3 (names are compared ignoring case)`}}},
		{"same URL path", "name: app\nentities:\n  - name: Bus\n    fields: []\n  - name: Buse\n    fields: []\n",
			[]Diagnostic{{5, 11, "entities[1].name", `entity "Buse" would be served at /api/buses like "Bus" at line 3`}}},
		{"unknown field key", fieldsDoc("      - name: title\n        type: string\n        colour: red\n"),
			[]Diagnostic{{7, 9, p0 + ".colour", `unknown key "colour" (expected one of: name, type, required, unique, enum, default, min, max, pattern, ref)`}}},
		{"unknown type", fieldsDoc("      - name: title\n        type: strng\n"),
			[]Diagnostic{{6, 15, p0 + ".type", `unknown type "strng" (expected one of: string, text, number, integer, boolean, date, enum, ref, json)`}}},
		{"missing type", fieldsDoc("      - name: title\n"),
			[]Diagnostic{{5, 9, p0 + ".type", "a field needs a type"}}},
		{"field name not an identifier", fieldsDoc("      - name: my-field\n        type: string\n"),
			[]Diagnostic{{5, 15, p0 + ".name", `field name "my-field" is not an identifier: use letters, digits and _, not starting with a digit`}}},
		{"reserved field id", fieldsDoc("      - name: id\n        type: string\n"),
			[]Diagnostic{{5, 15, p0 + ".name", `field name "id" is reserved: every record has id, createdAt and updatedAt`}}},
		{"reserved field createdAt", fieldsDoc("      - name: createdAt\n        type: date\n"),
			[]Diagnostic{{5, 15, p0 + ".name", `field name "createdAt" is reserved: every record has id, createdAt and updatedAt`}}},
		{"reserved field updatedAt ignoring case", fieldsDoc("      - name: UpdatedAt\n        type: date\n"),
			[]Diagnostic{{5, 15, p0 + ".name", `field name "UpdatedAt" is reserved: every record has id, createdAt and updatedAt`}}},
		{"duplicate field", fieldsDoc("      - name: title\n        type: string\n      - name: title\n        type: text\n"),
			[]Diagnostic{{7, 15, p1 + ".name", `duplicate field name "title" (first declared at line 5)`}}},
		{"duplicate field ignoring case", fieldsDoc("      - name: title\n        type: string\n      - name: Title\n        type: text\n"),
			[]Diagnostic{{7, 15, p1 + ".name", `field name "Title" clashes with "title" at line 5 (names are compared ignoring case)`}}},
		{"unknown ref entity", fieldsDoc("      - name: author\n        type: ref\n        ref: Author\n"),
			[]Diagnostic{{7, 14, p0 + ".ref", `unknown entity "Author" (entities: Post)`}}},
		{"ref without target", fieldsDoc("      - name: author\n        type: ref\n"),
			[]Diagnostic{{5, 9, p0 + ".ref", "type ref needs the entity it refers to: ref: <EntityName>"}}},
		{"ref on a string", fieldsDoc("      - name: author\n        type: string\n        ref: Post\n"),
			[]Diagnostic{{7, 9, p0 + ".ref", "ref is only allowed with type: ref"}}},
		{"enum without values", fieldsDoc("      - name: status\n        type: enum\n"),
			[]Diagnostic{{5, 9, p0 + ".enum", "type enum needs its values: enum: [a, b]"}}},
		{"enum with an empty list", fieldsDoc("      - name: status\n        type: enum\n        enum: []\n"),
			[]Diagnostic{{7, 15, p0 + ".enum", "list at least one value"}}},
		{"enum value not a string", fieldsDoc("      - name: status\n        type: enum\n        enum: [a, 2]\n"),
			[]Diagnostic{{7, 19, p0 + ".enum[1]", "enum values must be strings (quote numbers and booleans)"}}},
		{"duplicate enum value", fieldsDoc("      - name: status\n        type: enum\n        enum: [a, b, a]\n"),
			[]Diagnostic{{7, 22, p0 + ".enum[2]", `duplicate enum value "a"`}}},
		{"enum on a string", fieldsDoc("      - name: status\n        type: string\n        enum: [a]\n"),
			[]Diagnostic{{7, 9, p0 + ".enum", "enum is only allowed with type: enum"}}},
		{"required not a boolean", fieldsDoc("      - name: title\n        type: string\n        required: yes\n"),
			[]Diagnostic{{7, 19, p0 + ".required", "must be true or false"}}},
		{"unique json", fieldsDoc("      - name: data\n        type: json\n        unique: true\n"),
			[]Diagnostic{{7, 9, p0 + ".unique", "unique is not allowed for json fields"}}},
		{"min greater than max", fieldsDoc("      - name: age\n        type: integer\n        min: 10\n        max: 5\n"),
			[]Diagnostic{{7, 14, p0 + ".min", "min (10) is greater than max (5)"}}},
		{"min not a number", fieldsDoc("      - name: age\n        type: number\n        min: low\n"),
			[]Diagnostic{{7, 14, p0 + ".min", "must be a number"}}},
		{"fractional min on an integer", fieldsDoc("      - name: age\n        type: integer\n        min: 1.5\n"),
			[]Diagnostic{{7, 14, p0 + ".min", "must be a whole number for integer fields"}}},
		{"negative length", fieldsDoc("      - name: title\n        type: string\n        max: -1\n"),
			[]Diagnostic{{7, 14, p0 + ".max", "a length cannot be negative"}}},
		{"max on a boolean", fieldsDoc("      - name: ok\n        type: boolean\n        max: 1\n"),
			[]Diagnostic{{7, 9, p0 + ".max", "max is only allowed for number, integer, string and text fields"}}},
		{"bad pattern", fieldsDoc("      - name: code\n        type: string\n        pattern: \"[a-\"\n"),
			[]Diagnostic{{7, 18, p0 + ".pattern", "invalid regular expression: missing closing ]: `[a-`"}}},
		{"pattern on a number", fieldsDoc("      - name: n\n        type: number\n        pattern: x\n"),
			[]Diagnostic{{7, 9, p0 + ".pattern", "pattern is only allowed for string and text fields"}}},
		{"default of the wrong type", fieldsDoc("      - name: stock\n        type: integer\n        default: abc\n"),
			[]Diagnostic{{7, 18, p0 + ".default", "default must be an integer"}}},
		{"default not an integer", fieldsDoc("      - name: stock\n        type: integer\n        default: 1.5\n"),
			[]Diagnostic{{7, 18, p0 + ".default", "default must be an integer"}}},
		{"default outside the enum", fieldsDoc("      - name: status\n        type: enum\n        enum: [draft, published]\n        default: archived\n"),
			[]Diagnostic{{8, 18, p0 + ".default", "default must be one of: draft, published"}}},
		{"default too short", fieldsDoc("      - name: code\n        type: string\n        min: 3\n        default: ab\n"),
			[]Diagnostic{{8, 18, p0 + ".default", "default must be at least 3 characters long"}}},
		{"default breaking the pattern", fieldsDoc("      - name: code\n        type: string\n        pattern: ^[A-Z]+$\n        default: abc\n"),
			[]Diagnostic{{8, 18, p0 + ".default", "default must match the pattern ^[A-Z]+$"}}},
		{"default above max", fieldsDoc("      - name: n\n        type: number\n        max: 5\n        default: 6\n"),
			[]Diagnostic{{8, 18, p0 + ".default", "default must be at most 5"}}},
		{"default not a date", fieldsDoc("      - name: at\n        type: date\n        default: tomorrow\n"),
			[]Diagnostic{{7, 18, p0 + ".default", "default must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"}}},
		{"default not a boolean", fieldsDoc("      - name: on\n        type: boolean\n        default: \"true\"\n"),
			[]Diagnostic{{7, 18, p0 + ".default", "default must be a boolean"}}},
		{"default on a ref", "name: app\nentities:\n  - name: Post\n    fields:\n      - name: parent\n        type: ref\n        ref: Post\n        default: x\n",
			[]Diagnostic{{8, 9, p0 + ".default", "default is not allowed for ref fields"}}},
		{"every problem is reported", fieldsDoc("      - name: title\n        type: strng\n      - name: 2nd\n        type: string\n        required: maybe\n      - name: id\n        type: enum\n"),
			[]Diagnostic{
				{6, 15, p0 + ".type", `unknown type "strng" (expected one of: string, text, number, integer, boolean, date, enum, ref, json)`},
				{7, 15, p1 + ".name", `field name "2nd" is not an identifier: use letters, digits and _, not starting with a digit`},
				{9, 19, p1 + ".required", "must be true or false"},
				{10, 9, "entities[0].fields[2].enum", "type enum needs its values: enum: [a, b]"},
				{10, 15, "entities[0].fields[2].name", `field name "id" is reserved: every record has id, createdAt and updatedAt`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, got := Parse([]byte(tt.src))
			if m != nil {
				t.Errorf("got a manifest despite diagnostics")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n got %s\nwant %s", fmtDiags(got), fmtDiags(tt.want))
			}
		})
	}
}

func fmtDiags(ds []Diagnostic) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.String()+" ["+d.Path+"]")
	}
	return strings.Join(parts, "\n     ")
}

// TestParseDatabase: the database key, sqlite when left out.
func TestParseDatabase(t *testing.T) {
	for _, tt := range []struct {
		key        string
		want, used Database
	}{
		{"", "", SQLite},
		{"database: sqlite\n", SQLite, SQLite},
		{"database: postgres\n", Postgres, Postgres},
	} {
		m := mustParse(t, "name: app\n"+tt.key+"entities:\n  - name: A\n    fields: []\n")
		if m.Database != tt.want || m.Engine() != tt.used {
			t.Errorf("%q: Database %q, Engine %q; want %q, %q", tt.key, m.Database, m.Engine(), tt.want, tt.used)
		}
	}
	// PostgreSQL's reserved names are free on SQLite.
	mustParse(t, "name: app\nentities:\n  - name: pg_class\n    fields: []\n")
}

// TestExampleOnPostgres: the blog example on PostgreSQL is the blog
// example with database: postgres.
func TestExampleOnPostgres(t *testing.T) {
	read := func(name string) *Manifest {
		content, err := os.ReadFile(filepath.Join("..", "..", "examples", name, "manifest.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, string(content))
	}
	sqlite, pg := read("manifest-blog"), read("manifest-blog-postgres")
	if sqlite.Engine() != SQLite || pg.Engine() != Postgres {
		t.Errorf("databases %s and %s", sqlite.Engine(), pg.Engine())
	}
	pg.Database = ""
	if !reflect.DeepEqual(sqlite, pg) {
		t.Errorf("the examples differ beyond the database:\n%+v\n%+v", sqlite, pg)
	}
}

func TestDiagnosticString(t *testing.T) {
	d := Diagnostic{Line: 3, Column: 7, Path: "entities[0].name", Message: "bad"}
	if got := d.String(); got != "line 3, column 7: entities[0].name: bad" {
		t.Errorf("got %q", got)
	}
	if got := (Diagnostic{Message: "the manifest is empty"}).String(); got != "the manifest is empty" {
		t.Errorf("got %q", got)
	}
}

func TestParseAliases(t *testing.T) {
	m := mustParse(t, `name: app
entities:
  - name: A
    fields:
      - &title
        name: title
        type: string
        required: true
  - name: B
    fields:
      - *title
`)
	if f := m.Entity("B").Field("title"); f == nil || !f.Required {
		t.Fatalf("alias not followed: %+v", m.Entity("B"))
	}
}
