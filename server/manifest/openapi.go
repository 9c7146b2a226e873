package manifest

import (
	"encoding/json"
	"strconv"
)

type obj = map[string]any

// errorSchema names the error body's schema. Entity names have no dot, so
// neither it nor <Entity>.Input, .Patch and .List can clash with an entity.
const errorSchema = "api.Error"

func ref(kind, name string) obj { return obj{"$ref": "#/components/" + kind + "/" + name} }

func jsonContent(schema obj) obj {
	return obj{"application/json": obj{"schema": schema}}
}

// fieldSchema is the JSON Schema of a field's values; nullable adds null.
func fieldSchema(f *Field, nullable bool) obj {
	s := obj{}
	typ := "string"
	switch f.Type {
	case TypeString, TypeText:
		if f.Min != nil {
			s["minLength"] = int64(*f.Min)
		}
		if f.Max != nil {
			s["maxLength"] = int64(*f.Max)
		}
		if f.Pattern != "" {
			s["pattern"] = f.Pattern
		}
	case TypeNumber, TypeInteger:
		typ = string(f.Type)
		if f.Type == TypeInteger {
			s["format"] = "int64"
		}
		if f.Min != nil {
			s["minimum"] = *f.Min
		}
		if f.Max != nil {
			s["maximum"] = *f.Max
		}
	case TypeBoolean:
		typ = "boolean"
	case TypeDate:
		s["format"] = "date-time"
		s["description"] = "RFC 3339 date-time; a full date (2024-05-01) is accepted as midnight UTC"
	case TypeEnum:
		values := make([]any, 0, len(f.Enum)+1)
		for _, v := range f.Enum {
			values = append(values, v)
		}
		if nullable {
			values = append(values, nil)
		}
		s["enum"] = values
	case TypeRef:
		s["description"] = "the id of a " + f.Ref
	case TypeJSON:
		s["description"] = "any JSON value"
		types := []string{"object", "array", "string", "number", "boolean"}
		if nullable {
			types = append(types, "null")
		}
		s["type"] = types
		if f.Default != nil {
			s["default"] = f.Default
		}
		return s
	}
	if nullable {
		s["type"] = []string{typ, "null"}
	} else {
		s["type"] = typ
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	return s
}

func readOnlyString(format, desc string) obj {
	s := obj{"type": "string", "readOnly": true, "description": desc}
	if format != "" {
		s["format"] = format
	}
	return s
}

// OpenAPI returns an OpenAPI 3.1 document (JSON) describing every route of
// Handler for m, with a schema per entity: <Entity> as served,
// <Entity>.Input for create and replace, <Entity>.Patch for merge updates,
// <Entity>.List for a page of a list, and api.Error for every error.
func (m *Manifest) OpenAPI() ([]byte, error) {
	version := m.Version
	if version == "" {
		version = "0"
	}
	errResp := func(desc string) obj {
		return obj{"description": desc, "content": jsonContent(ref("schemas", errorSchema))}
	}
	responses := obj{
		"BadRequest":           errResp("The request is not valid: see error.fields."),
		"NotFound":             errResp("No record has this id."),
		"Conflict":             errResp("A unique value is taken, or the record is still referenced."),
		"PayloadTooLarge":      errResp("The body is larger than 1 MiB."),
		"UnsupportedMediaType": errResp("The body is not declared as application/json."),
		"UnprocessableEntity":  errResp("A ref names a record that does not exist."),
		"Error":                errResp("An error (405 for a method the route does not allow, 500, 503)."),
	}
	schemas := obj{
		errorSchema: obj{
			"type":     "object",
			"required": []string{"error"},
			"properties": obj{"error": obj{
				"type":     "object",
				"required": []string{"status", "message"},
				"properties": obj{
					"status":  obj{"type": "integer"},
					"message": obj{"type": "string"},
					"fields": obj{"type": "array", "items": obj{
						"type":     "object",
						"required": []string{"field", "message"},
						"properties": obj{
							"field":   obj{"type": "string"},
							"message": obj{"type": "string"},
						},
					}},
				},
			}},
		},
	}
	paths := obj{
		"/health": obj{"get": obj{
			"operationId": "health",
			"summary":     "Health check",
			"responses": obj{
				"200": obj{"description": "The API is up.", "content": jsonContent(obj{
					"type": "object", "required": []string{"status"},
					"properties": obj{"status": obj{"type": "string", "const": "ok"}},
				})},
				"default": ref("responses", "Error"),
			},
		}},
		"/api": obj{"get": obj{
			"operationId": "describe",
			"summary":     "The manifest's entities and their fields",
			"responses": obj{
				"200":     obj{"description": "The entities as declared.", "content": jsonContent(obj{"type": "object"})},
				"default": ref("responses", "Error"),
			},
		}},
		"/api/openapi.json": obj{"get": obj{
			"operationId": "openapi",
			"summary":     "This document",
			"responses": obj{
				"200":     obj{"description": "The OpenAPI document.", "content": jsonContent(obj{"type": "object"})},
				"default": ref("responses", "Error"),
			},
		}},
	}
	for i := range m.Entities {
		e := &m.Entities[i]
		name := e.Name
		record := obj{
			"id": readOnlyString("", "generated id (UUIDv7)"),
		}
		recordReq := []string{"id"}
		input := obj{
			"id":        readOnlyString("", "read-only: refused on create, must match the URL otherwise"),
			"createdAt": readOnlyString("date-time", "read-only: ignored"),
			"updatedAt": readOnlyString("date-time", "read-only: ignored"),
		}
		var inputReq []string
		patch := obj{
			"id":        input["id"],
			"createdAt": input["createdAt"],
			"updatedAt": input["updatedAt"],
		}
		for j := range e.Fields {
			f := &e.Fields[j]
			record[f.Name] = fieldSchema(f, !f.Required)
			recordReq = append(recordReq, f.Name)
			input[f.Name] = fieldSchema(f, !f.Required)
			if f.Required && f.Default == nil {
				inputReq = append(inputReq, f.Name)
			}
			patch[f.Name] = fieldSchema(f, !f.Required)
		}
		record["createdAt"] = readOnlyString("date-time", "when the record was created")
		record["updatedAt"] = readOnlyString("date-time", "when the record was last written")
		recordReq = append(recordReq, "createdAt", "updatedAt")
		schemas[name] = obj{"type": "object", "properties": record, "required": recordReq, "additionalProperties": false}
		in := obj{"type": "object", "properties": input, "additionalProperties": false}
		if len(inputReq) > 0 {
			in["required"] = inputReq
		}
		schemas[name+".Input"] = in
		schemas[name+".Patch"] = obj{"type": "object", "properties": patch, "additionalProperties": false,
			"description": "JSON merge patch: given fields replace, null clears"}
		schemas[name+".List"] = obj{
			"type":     "object",
			"required": []string{"items", "total", "limit", "offset"},
			"properties": obj{
				"items":  obj{"type": "array", "items": ref("schemas", name)},
				"total":  obj{"type": "integer", "description": "records matching the filters"},
				"limit":  obj{"type": "integer"},
				"offset": obj{"type": "integer"},
			},
		}

		params := []any{
			obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}},
			obj{"name": "offset", "in": "query", "schema": obj{"type": "integer", "minimum": 0, "default": 0}},
			obj{"name": "sort", "in": "query", "description": "comma-separated fields, - before a field for descending; default: creation order",
				"schema": obj{"type": "string"}},
		}
		type col struct {
			name string
			typ  Type
		}
		cols := []col{{"id", TypeRef}}
		for _, f := range e.Fields {
			cols = append(cols, col{f.Name, f.Type})
		}
		cols = append(cols, col{"createdAt", TypeDate}, col{"updatedAt", TypeDate})
		for _, c := range cols {
			ops := []string{"eq", "ne"}
			if ordered(c.typ) {
				ops = append(ops, "gt", "gte", "lt", "lte")
			}
			if c.typ == TypeJSON {
				ops = nil
			}
			vs := obj{"type": "string"}
			switch c.typ {
			case TypeNumber, TypeInteger, TypeBoolean:
				vs = obj{"type": string(c.typ)}
			case TypeDate:
				vs = obj{"type": "string", "format": "date-time"}
			}
			for _, op := range ops {
				pname := c.name + "[" + op + "]"
				desc := "records whose " + c.name + " " + map[string]string{"eq": "equals", "ne": "differs from", "gt": "is greater than", "gte": "is at least", "lt": "is less than", "lte": "is at most"}[op] + " the value"
				if op == "eq" && c.name != "limit" && c.name != "offset" && c.name != "sort" {
					params = append(params, obj{"name": c.name, "in": "query", "description": desc + " (repeat for any of several)", "schema": vs})
				}
				params = append(params, obj{"name": pname, "in": "query", "description": desc, "schema": vs})
			}
			params = append(params, obj{"name": c.name + "[null]", "in": "query", "description": "records whose " + c.name + " is (true) or is not (false) empty",
				"schema": obj{"type": "boolean"}})
		}

		body := func(schema string, patch bool) obj {
			content := jsonContent(ref("schemas", schema))
			if patch {
				content["application/merge-patch+json"] = obj{"schema": ref("schemas", schema)}
			}
			return obj{"required": true, "content": content}
		}
		one := func(desc string) obj {
			return obj{"description": desc, "content": jsonContent(ref("schemas", name))}
		}
		writeErrors := func(r obj) obj {
			r["400"] = ref("responses", "BadRequest")
			r["409"] = ref("responses", "Conflict")
			r["413"] = ref("responses", "PayloadTooLarge")
			r["415"] = ref("responses", "UnsupportedMediaType")
			r["422"] = ref("responses", "UnprocessableEntity")
			r["default"] = ref("responses", "Error")
			return r
		}
		plural := e.Plural()
		paths["/api/"+plural] = obj{
			"get": obj{
				"operationId": "list" + name,
				"tags":        []string{name},
				"summary":     "List " + name + " records",
				"parameters":  params,
				"responses": obj{
					"200":     obj{"description": "A page of records.", "content": jsonContent(ref("schemas", name+".List"))},
					"400":     ref("responses", "BadRequest"),
					"default": ref("responses", "Error"),
				},
			},
			"post": obj{
				"operationId": "create" + name,
				"tags":        []string{name},
				"summary":     "Create a " + name,
				"requestBody": body(name+".Input", false),
				"responses": writeErrors(obj{
					"201": obj{"description": "Created.", "content": jsonContent(ref("schemas", name)),
						"headers": obj{"Location": obj{"description": "the record's URL", "schema": obj{"type": "string"}}}},
				}),
			},
		}
		paths["/api/"+plural+"/{id}"] = obj{
			"parameters": []any{obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}},
			"get": obj{
				"operationId": "get" + name,
				"tags":        []string{name},
				"summary":     "Get a " + name,
				"responses": obj{
					"200":     one("The record."),
					"404":     ref("responses", "NotFound"),
					"default": ref("responses", "Error"),
				},
			},
			"put": obj{
				"operationId": "replace" + name,
				"tags":        []string{name},
				"summary":     "Replace a " + name,
				"requestBody": body(name+".Input", false),
				"responses":   writeErrors(obj{"200": one("The record as replaced."), "404": ref("responses", "NotFound")}),
			},
			"patch": obj{
				"operationId": "update" + name,
				"tags":        []string{name},
				"summary":     "Update some fields of a " + name,
				"requestBody": body(name+".Patch", true),
				"responses":   writeErrors(obj{"200": one("The record as updated."), "404": ref("responses", "NotFound")}),
			},
			"delete": obj{
				"operationId": "delete" + name,
				"tags":        []string{name},
				"summary":     "Delete a " + name,
				"responses": obj{
					"204":     obj{"description": "Deleted."},
					"404":     ref("responses", "NotFound"),
					"409":     ref("responses", "Conflict"),
					"default": ref("responses", "Error"),
				},
			},
		}
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       m.Name,
			"version":     version,
			"description": "CRUD API generated from the " + strconv.Quote(m.Name) + " manifest.",
		},
		"paths":      paths,
		"components": obj{"schemas": schemas, "responses": responses},
	}
	return json.Marshal(doc)
}
