package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func loadOpenAPI(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

func TestOpenAPI(t *testing.T) {
	for name, src := range map[string]string{"blog": blogYAML, "shop": shopYAML} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, src)
			data, err := m.OpenAPI()
			if err != nil {
				t.Fatal(err)
			}
			doc := loadOpenAPI(t, data)
			if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
				t.Errorf("version %q", doc.OpenAPI)
			}
			want := map[string][]string{
				"/health":           {"GET"},
				"/api":              {"GET"},
				"/api/openapi.json": {"GET"},
			}
			for _, e := range m.Entities {
				want["/api/"+e.Plural()] = []string{"GET", "POST"}
				want["/api/"+e.Plural()+"/{id}"] = []string{"GET", "PUT", "PATCH", "DELETE"}
			}
			if got := doc.Paths.Len(); got != len(want) {
				t.Errorf("%d paths, want %d", got, len(want))
			}
			for path, methods := range want {
				item := doc.Paths.Find(path)
				if item == nil {
					t.Errorf("path %s missing", path)
					continue
				}
				for _, method := range methods {
					if item.GetOperation(method) == nil {
						t.Errorf("%s %s missing", method, path)
					}
				}
			}

			// Real responses match the schemas (JSON Schema 2020-12, as
			// OpenAPI 3.1 has it).
			c := newClient(t, src)
			served := c.do("GET", "/api/openapi.json", nil).Body.Bytes()
			if !bytes.Equal(bytes.TrimSpace(served), data) {
				t.Error("/api/openapi.json differs from OpenAPI()")
			}
			check := func(schema string, body []byte) {
				t.Helper()
				var v any
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				ref := doc.Components.Schemas[schema]
				if ref == nil {
					t.Fatalf("schema %s missing", schema)
				}
				if err := doc.ValidateSchemaJSON(ref.Value, v, openapi3.EnableJSONSchema2020()); err != nil {
					t.Errorf("%s does not match its schema: %v\n%s", schema, err, body)
				}
			}
			var post, list []byte
			if name == "blog" {
				u := c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
				post = c.do("POST", "/api/posts", map[string]any{"title": "T", "userId": u["id"]}).Body.Bytes()
				check("Post", post)
				list = c.do("GET", "/api/posts", nil).Body.Bytes()
				check("Post.List", list)
			} else {
				cat := c.create("/api/categories", map[string]any{"title": "Tools"})
				p := c.do("POST", "/api/products", map[string]any{"name": "Saw", "category": cat["id"], "meta": []any{1},
					"releasedAt": "2024-01-01", "price": 2.5}).Body.Bytes()
				check("Product", p)
				check("Product", c.do("POST", "/api/products", map[string]any{"name": "Bare"}).Body.Bytes())
				check("Product.List", c.do("GET", "/api/products", nil).Body.Bytes())
				// A wrong body fails the input schema too.
				var in any
				_ = json.Unmarshal([]byte(`{"name": "x", "status": "archived"}`), &in)
				if err := doc.ValidateSchemaJSON(doc.Components.Schemas["Product.Input"].Value, in, openapi3.EnableJSONSchema2020()); err == nil {
					t.Error("ProductInput accepts a bad status")
				}
			}
			check("api.Error", c.do("GET", "/api/nothing", nil).Body.Bytes())
			check("api.Error", c.do("POST", "/api/users", map[string]any{}).Body.Bytes())
		})
	}
}

// The validator does reject a broken document, so the test above means
// something.
func TestOpenAPIValidatorRejects(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`{"openapi":"3.1.0","info":{"title":"x","version":"1"},
		"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"strin"}}}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err == nil {
		t.Error("an unknown schema type was accepted")
	}
}

// Entities and fields whose names look like the document's own parts.
func TestOpenAPINameClashes(t *testing.T) {
	const src = `name: odd
entities:
  - name: Error
    fields:
      - name: limit
        type: integer
      - name: sort
        type: string
      - name: offset
        type: number
  - name: ErrorInput
    fields: []
`
	data, err := mustParse(t, src).OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	loadOpenAPI(t, data)
	// Filtering on a field called limit goes through [eq].
	c := newClient(t, src)
	c.create("/api/errors", map[string]any{"limit": 3, "sort": "b"})
	c.create("/api/errors", map[string]any{"limit": 4, "sort": "a"})
	body := c.do("GET", "/api/errors?limit[eq]=4&sort[eq]=a&sort=-limit&limit=10", nil).json(200)
	if body["total"] != float64(1) || body["limit"] != float64(10) {
		t.Errorf("got %v", body)
	}
}

// Every type and rule a field can have, as its schema says it.
func TestOpenAPIFieldSchemas(t *testing.T) {
	const src = `name: rules
entities:
  - name: Thing
    fields:
      - {name: short, type: string, min: 0, max: 3}
      - {name: body, type: text, required: true, min: 2, pattern: "^a", default: abc}
      - {name: ratio, type: number, min: -1.5, max: 2.25}
      - {name: count, type: integer, required: true}
      - {name: flag, type: boolean, default: false}
      - {name: day, type: date}
      - {name: state, type: enum, enum: [x, y]}
      - {name: meta, type: json, default: {a: [1]}}
      - {name: owner, type: ref, ref: Thing}
`
	data, err := mustParse(t, src).OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc := loadOpenAPI(t, data)
	var schemas struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
				Required   []string                  `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &schemas); err != nil {
		t.Fatal(err)
	}
	props := schemas.Components.Schemas["Thing"].Properties
	for field, want := range map[string]string{
		"short": `{"maxLength":3,"type":["string","null"]}`,
		"body":  `{"default":"abc","minLength":2,"pattern":"^a","type":"string"}`,
		"ratio": `{"maximum":2.25,"minimum":-1.5,"type":["number","null"]}`,
		"count": `{"format":"int64","type":"integer"}`,
		"flag":  `{"default":false,"type":["boolean","null"]}`,
		"day":   `{"description":"RFC 3339 date-time; a full date (2024-05-01) is accepted as midnight UTC","format":"date-time","type":["string","null"]}`,
		"state": `{"enum":["x","y",null],"type":["string","null"]}`,
		"meta":  `{"default":{"a":[1]},"description":"any JSON value","type":["object","array","string","number","boolean","null"]}`,
		"owner": `{"description":"the id of a Thing","type":["string","null"]}`,
	} {
		got, _ := json.Marshal(props[field])
		if string(got) != want {
			t.Errorf("%s: schema %s, want %s", field, got, want)
		}
	}
	if got := schemas.Components.Schemas["Thing.Input"].Required; !slices.Equal(got, []string{"count"}) {
		t.Errorf("Thing.Input requires %v, want [count] (body has a default)", got)
	}
	if doc.Paths.Find("/api/things").Get.Parameters.GetByInAndName("query", "day[gte]") == nil {
		t.Error("no day[gte] filter")
	}
}
