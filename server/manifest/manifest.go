package manifest

import (
	"fmt"
	"regexp"
	"strings"
)

// Type is a field's type.
type Type string

// The field types a manifest may use.
const (
	TypeString  Type = "string"
	TypeText    Type = "text"
	TypeNumber  Type = "number"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
	TypeDate    Type = "date"
	TypeEnum    Type = "enum"
	TypeRef     Type = "ref"
	TypeJSON    Type = "json"
)

// Types lists every field type, in the order error messages name them.
var Types = []Type{TypeString, TypeText, TypeNumber, TypeInteger, TypeBoolean, TypeDate, TypeEnum, TypeRef, TypeJSON}

func (t Type) valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Database is the kind of database a manifest's data is kept in.
type Database string

// The databases a manifest may ask for.
const (
	// SQLite, the default, is the file manifest.db in the data directory.
	SQLite Database = "sqlite"
	// Postgres is the deployment's PostgreSQL database, at DATABASE_URL.
	Postgres Database = "postgres"
)

// Databases lists the databases, in the order error messages name them.
var Databases = []Database{SQLite, Postgres}

// Manifest is a parsed and checked manifest. Build one with Parse: the other
// functions of this package expect the invariants Parse checks.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Database is as the manifest says: empty when it does not (see Engine),
	// so that manifests applied before the key existed read the same.
	Database Database `json:"database,omitempty"`
	Entities []Entity `json:"entities"`
}

// Engine is the database m's data is kept in: SQLite unless it says.
func (m *Manifest) Engine() Database {
	if m.Database == "" {
		return SQLite
	}
	return m.Database
}

// Entity is one kind of record, stored in its own table.
type Entity struct {
	Name   string  `json:"name"`
	Fields []Field `json:"fields"`
}

// Field is one property of an entity's records.
type Field struct {
	Name     string   `json:"name"`
	Type     Type     `json:"type"`
	Required bool     `json:"required,omitempty"`
	Unique   bool     `json:"unique,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	// Default is the value used when a create or replace omits the field,
	// as decoded from JSON: string, json.Number, bool, or for json fields
	// any JSON value (map[string]any, []any, ...). Nil when there is none.
	Default any      `json:"default,omitempty"`
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Ref     string   `json:"ref,omitempty"`

	re *regexp.Regexp
}

// Diagnostic is one problem found in a manifest.
type Diagnostic struct {
	// Line and Column are 1-based; 0 when the problem concerns the whole
	// document (or, for Column, when the YAML parser gives only a line).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Path locates the offending node, like "entities[1].fields[0].type";
	// empty for the whole document.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Line > 0 {
		fmt.Fprintf(&b, "line %d", d.Line)
		if d.Column > 0 {
			fmt.Fprintf(&b, ", column %d", d.Column)
		}
		b.WriteString(": ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Entity returns the entity called name, or nil.
func (m *Manifest) Entity(name string) *Entity {
	for i := range m.Entities {
		if m.Entities[i].Name == name {
			return &m.Entities[i]
		}
	}
	return nil
}

// Field returns the field called name, or nil.
func (e *Entity) Field(name string) *Field {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return &e.Fields[i]
		}
	}
	return nil
}

// Plural is the entity's collection name in URLs: /api/<plural>.
func (e *Entity) Plural() string { return Plural(e.Name) }

// Plural lower-cases name and adds a simple English plural ending: a
// consonant followed by y becomes "ies" (Category → categories, but Day →
// days); a name ending in s, x, z, ch or sh takes "es" (Address → addresses,
// Box → boxes, Match → matches); any other takes "s" (Post → posts, Person →
// persons). Irregular plurals are not attempted.
func Plural(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, "y") && len(n) > 1 && !strings.ContainsRune("aeiou", rune(n[len(n)-2])):
		return n[:len(n)-1] + "ies"
	case strings.HasSuffix(n, "s"), strings.HasSuffix(n, "x"), strings.HasSuffix(n, "z"),
		strings.HasSuffix(n, "ch"), strings.HasSuffix(n, "sh"):
		return n + "es"
	}
	return n + "s"
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Names that fields may not take: the API sets these columns itself.
var reservedFields = []string{"id", "createdAt", "updatedAt"}

// compile compiles the fields' patterns where Parse has not (a Manifest
// decoded from JSON, say).
func (m *Manifest) compile() error {
	for i := range m.Entities {
		for j := range m.Entities[i].Fields {
			f := &m.Entities[i].Fields[j]
			if f.Pattern != "" && f.re == nil {
				re, err := regexp.Compile(f.Pattern)
				if err != nil {
					return fmt.Errorf("manifest: %s.%s: pattern: %w", m.Entities[i].Name, f.Name, err)
				}
				f.re = re
			}
		}
	}
	return nil
}
