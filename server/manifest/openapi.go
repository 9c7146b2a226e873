package manifest

import (
	"encoding/json"
	"strconv"
)

// errorSchema names the error body's schema. Entity names have no dot, so
// neither it nor <Entity>.Input, .Patch and .List can clash with an entity.
const errorSchema = "api.Error"

// OpenAPI returns an OpenAPI 3.1 document (JSON) describing every route of
// Handler for m, with a schema per entity: <Entity> as served,
// <Entity>.Input for create and replace, <Entity>.Patch for merge updates,
// <Entity>.List for a page of a list, and api.Error for every error.
func (m *Manifest) OpenAPI() ([]byte, error) {
	doc := &oaDoc{
		OpenAPI: "3.1.0",
		Info:    m.openAPIInfo(),
		Paths:   fixedPaths(),
		Components: &oaComponents{
			Schemas:   map[string]*oaSchema{errorSchema: errorBodySchema()},
			Responses: errorResponses(),
		},
	}
	for i := range m.Entities {
		e := &m.Entities[i]
		for name, s := range entitySchemas(e) {
			doc.Components.Schemas[name] = s
		}
		doc.Paths["/api/"+e.Plural()] = collectionPath(e)
		doc.Paths["/api/"+e.Plural()+"/{id}"] = itemPath(e)
	}
	return json.Marshal(doc)
}

func (m *Manifest) openAPIInfo() *oaInfo {
	version := m.Version
	if version == "" {
		version = "0"
	}
	return &oaInfo{
		Title:       m.Name,
		Version:     version,
		Description: "CRUD API generated from the " + strconv.Quote(m.Name) + " manifest.",
	}
}

// schemaRef and responseRef point at the document's components.
func schemaRef(name string) *oaSchema {
	return &oaSchema{Ref: "#/components/schemas/" + name}
}

func responseRef(name string) *oaResponse {
	return &oaResponse{Ref: "#/components/responses/" + name}
}

// jsonContent is a body of this schema as application/json.
func jsonContent(schema *oaSchema) map[string]*oaMediaType {
	return map[string]*oaMediaType{"application/json": {Schema: schema}}
}

func jsonResponse(desc string, schema *oaSchema) *oaResponse {
	return &oaResponse{Description: desc, Content: jsonContent(schema)}
}

// errorResponses are the named responses of components: every error has
// the api.Error body.
func errorResponses() map[string]*oaResponse {
	body := schemaRef(errorSchema)
	return map[string]*oaResponse{
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
func fixedPaths() map[string]*oaPath {
	anyObject := objectSchema(nil)
	health := objectSchema(map[string]*oaSchema{"status": {Type: typed(typeString), Const: "ok"}}, "status")
	get := func(id, summary, desc string, body *oaSchema) *oaPath {
		return &oaPath{Get: &oaOperation{
			OperationID: id,
			Summary:     summary,
			Responses: map[string]*oaResponse{
				"200":     jsonResponse(desc, body),
				"default": responseRef("Error"),
			},
		}}
	}
	return map[string]*oaPath{
		"/health":           get("health", "Health check", "The API is up.", health),
		"/api":              get("describe", "The manifest's entities and their fields", "The entities as declared.", anyObject),
		"/api/openapi.json": get("openapi", "This document", "The OpenAPI document.", anyObject),
	}
}
