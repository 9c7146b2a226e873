package manifest

import "github.com/getkin/kin-openapi/openapi3"

// collectionPath is /api/<plural>: list and create.
func collectionPath(e *Entity) *openapi3.PathItem {
	name := e.Name
	created := jsonResponse("Created.", schemaRef(name))
	created.Value.Headers = openapi3.Headers{"Location": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: "the record's URL",
		Schema:      inline(openapi3.NewStringSchema()),
	}}}}
	return &openapi3.PathItem{
		Get: &openapi3.Operation{
			OperationID: "list" + name,
			Tags:        []string{name},
			Summary:     "List " + name + " records",
			Parameters:  listParameters(e),
			Responses: responses(map[string]*openapi3.ResponseRef{
				"200":     jsonResponse("A page of records.", schemaRef(name+".List")),
				"400":     responseRef("BadRequest"),
				"default": responseRef("Error"),
			}),
		},
		Post: &openapi3.Operation{
			OperationID: "create" + name,
			Tags:        []string{name},
			Summary:     "Create a " + name,
			RequestBody: requestBody(name+".Input", false),
			Responses:   writeResponses(map[string]*openapi3.ResponseRef{"201": created}),
		},
	}
}

// itemPath is /api/<plural>/{id}: get, replace, update and delete.
func itemPath(e *Entity) *openapi3.PathItem {
	name := e.Name
	one := func(desc string) *openapi3.ResponseRef { return jsonResponse(desc, schemaRef(name)) }
	idParam := openapi3.NewPathParameter("id").WithSchema(openapi3.NewStringSchema())
	return &openapi3.PathItem{
		Parameters: openapi3.Parameters{{Value: idParam}},
		Get: &openapi3.Operation{
			OperationID: "get" + name,
			Tags:        []string{name},
			Summary:     "Get a " + name,
			Responses: responses(map[string]*openapi3.ResponseRef{
				"200":     one("The record."),
				"404":     responseRef("NotFound"),
				"default": responseRef("Error"),
			}),
		},
		Put: &openapi3.Operation{
			OperationID: "replace" + name,
			Tags:        []string{name},
			Summary:     "Replace a " + name,
			RequestBody: requestBody(name+".Input", false),
			Responses:   writeResponses(map[string]*openapi3.ResponseRef{"200": one("The record as replaced."), "404": responseRef("NotFound")}),
		},
		Patch: &openapi3.Operation{
			OperationID: "update" + name,
			Tags:        []string{name},
			Summary:     "Update some fields of a " + name,
			RequestBody: requestBody(name+".Patch", true),
			Responses:   writeResponses(map[string]*openapi3.ResponseRef{"200": one("The record as updated."), "404": responseRef("NotFound")}),
		},
		Delete: &openapi3.Operation{
			OperationID: "delete" + name,
			Tags:        []string{name},
			Summary:     "Delete a " + name,
			Responses: responses(map[string]*openapi3.ResponseRef{
				"204":     {Value: openapi3.NewResponse().WithDescription("Deleted.")},
				"404":     responseRef("NotFound"),
				"409":     responseRef("Conflict"),
				"default": responseRef("Error"),
			}),
		},
	}
}

// requestBody is a required JSON body of the named schema; a merge patch
// may also be declared application/merge-patch+json.
func requestBody(schema string, mergePatch bool) *openapi3.RequestBodyRef {
	content := openapi3.NewContentWithJSONSchemaRef(schemaRef(schema))
	if mergePatch {
		content["application/merge-patch+json"] = &openapi3.MediaType{Schema: schemaRef(schema)}
	}
	return &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true, Content: content}}
}

// writeResponses adds the errors a create, replace or update can end with.
func writeResponses(byCode map[string]*openapi3.ResponseRef) *openapi3.Responses {
	for code, name := range map[string]string{
		"400":     "BadRequest",
		"409":     "Conflict",
		"413":     "PayloadTooLarge",
		"415":     "UnsupportedMediaType",
		"422":     "UnprocessableEntity",
		"default": "Error",
	} {
		byCode[code] = responseRef(name)
	}
	return responses(byCode)
}

// listParameters are a list's query parameters: paging, sort and a filter
// per column and operator (see parseList).
func listParameters(e *Entity) openapi3.Parameters {
	limit := openapi3.NewIntegerSchema().WithMin(1).WithMax(MaxLimit).WithDefault(DefaultLimit)
	offset := openapi3.NewIntegerSchema().WithMin(0).WithDefault(0)
	sort := openapi3.NewQueryParameter("sort").WithSchema(openapi3.NewStringSchema()).
		WithDescription("comma-separated fields, - before a field for descending; default: creation order")
	params := openapi3.Parameters{
		{Value: openapi3.NewQueryParameter("limit").WithSchema(limit)},
		{Value: openapi3.NewQueryParameter("offset").WithSchema(offset)},
		{Value: sort},
	}
	params = append(params, filterParameters("id", TypeRef)...)
	for _, f := range e.Fields {
		params = append(params, filterParameters(f.Name, f.Type)...)
	}
	params = append(params, filterParameters("createdAt", TypeDate)...)
	return append(params, filterParameters("updatedAt", TypeDate)...)
}

var opDescriptions = map[string]string{
	"eq": "equals", "ne": "differs from",
	"gt": "is greater than", "gte": "is at least", "lt": "is less than", "lte": "is at most",
}

// filterParameters are the filters on one column of type t: name[op] for
// each operator the type takes, the bare name for eq (except where it would
// be taken for paging or sort), and name[null].
func filterParameters(name string, t Type) openapi3.Parameters {
	ops := []string{"eq", "ne"}
	if ordered(t) {
		ops = append(ops, "gt", "gte", "lt", "lte")
	}
	if t == TypeJSON {
		ops = nil
	}
	value := filterValueSchema(t)
	query := func(name, desc string, schema *openapi3.Schema) *openapi3.ParameterRef {
		return &openapi3.ParameterRef{Value: openapi3.NewQueryParameter(name).WithDescription(desc).WithSchema(schema)}
	}
	var params openapi3.Parameters
	for _, op := range ops {
		desc := "records whose " + name + " " + opDescriptions[op] + " the value"
		if op == "eq" && name != "limit" && name != "offset" && name != "sort" {
			params = append(params, query(name, desc+" (repeat for any of several)", value))
		}
		params = append(params, query(name+"["+op+"]", desc, value))
	}
	return append(params, query(name+"[null]", "records whose "+name+" is (true) or is not (false) empty", openapi3.NewBoolSchema()))
}

// filterValueSchema is the schema of a filter's value for a column of type t.
func filterValueSchema(t Type) *openapi3.Schema {
	switch t {
	case TypeNumber, TypeInteger, TypeBoolean:
		return &openapi3.Schema{Type: typed(string(t))}
	case TypeDate:
		return &openapi3.Schema{Type: typed(openapi3.TypeString), Format: "date-time"}
	}
	return openapi3.NewStringSchema()
}
