package manifest

import (
	"encoding/json"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// errorSchema names the error body's schema. Entity names have no dot, so
// neither it nor <Entity>.Input, .Patch and .List can clash with an entity.
const errorSchema = "api.Error"

// OpenAPI returns an OpenAPI 3.1 document (JSON) describing every route of
// Handler for m, with a schema per entity: <Entity> as served,
// <Entity>.Input for create and replace, <Entity>.Patch for merge updates,
// <Entity>.List for a page of a list, and api.Error for every error.
func (m *Manifest) OpenAPI() ([]byte, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info:    m.openAPIInfo(),
		Paths:   fixedPaths(),
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{errorSchema: openapi3.NewSchemaRef("", errorBodySchema())},
			Responses: errorResponses(),
		},
	}
	for i := range m.Entities {
		e := &m.Entities[i]
		for name, s := range entitySchemas(e) {
			doc.Components.Schemas[name] = s
		}
		doc.Paths.Set("/api/"+e.Plural(), collectionPath(e))
		doc.Paths.Set("/api/"+e.Plural()+"/{id}", itemPath(e))
	}
	return json.Marshal(doc)
}

func (m *Manifest) openAPIInfo() *openapi3.Info {
	version := m.Version
	if version == "" {
		version = "0"
	}
	return &openapi3.Info{
		Title:       m.Name,
		Version:     version,
		Description: "CRUD API generated from the " + strconv.Quote(m.Name) + " manifest.",
	}
}

// schemaRef and responseRef point at the document's components.
func schemaRef(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

func responseRef(name string) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + name}
}

func jsonResponse(desc string, schema *openapi3.SchemaRef) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: &desc,
		Content:     openapi3.NewContentWithJSONSchemaRef(schema),
	}}
}

// responses builds a Responses object from status codes (or "default").
func responses(byCode map[string]*openapi3.ResponseRef) *openapi3.Responses {
	out := openapi3.NewResponsesWithCapacity(len(byCode))
	for code, r := range byCode {
		out.Set(code, r)
	}
	return out
}

// errorResponses are the named responses of components: every error has
// the api.Error body.
func errorResponses() openapi3.ResponseBodies {
	body := schemaRef(errorSchema)
	return openapi3.ResponseBodies{
		"BadRequest":           jsonResponse("The request is not valid: see error.fields.", body),
		"NotFound":             jsonResponse("No record has this id.", body),
		"Conflict":             jsonResponse("A unique value is taken, or the record is still referenced.", body),
		"PayloadTooLarge":      jsonResponse("The body is larger than 1 MiB.", body),
		"UnsupportedMediaType": jsonResponse("The body is not declared as application/json.", body),
		"UnprocessableEntity":  jsonResponse("A ref names a record that does not exist.", body),
		"Error":                jsonResponse("An error (405 for a method the route does not allow, 500, 503).", body),
	}
}

// fixedPaths are the routes every manifest has: /health, /api and this
// document.
func fixedPaths() *openapi3.Paths {
	anyObject := openapi3.NewSchemaRef("", openapi3.NewObjectSchema())
	health := openapi3.NewObjectSchema()
	health.Required = []string{"status"}
	health.Properties = openapi3.Schemas{"status": openapi3.NewSchemaRef("", &openapi3.Schema{
		Type: &openapi3.Types{openapi3.TypeString}, Const: "ok",
	})}
	get := func(id, summary, desc string, body *openapi3.SchemaRef) *openapi3.PathItem {
		return &openapi3.PathItem{Get: &openapi3.Operation{
			OperationID: id,
			Summary:     summary,
			Responses: responses(map[string]*openapi3.ResponseRef{
				"200":     jsonResponse(desc, body),
				"default": responseRef("Error"),
			}),
		}}
	}
	return openapi3.NewPaths(
		openapi3.WithPath("/health", get("health", "Health check", "The API is up.", openapi3.NewSchemaRef("", health))),
		openapi3.WithPath("/api", get("describe", "The manifest's entities and their fields", "The entities as declared.", anyObject)),
		openapi3.WithPath("/api/openapi.json", get("openapi", "This document", "The OpenAPI document.", anyObject)),
	)
}
