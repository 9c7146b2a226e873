package manifest

// collectionPath is /api/<plural>: list and create.
func collectionPath(e *Entity) *oaPath {
	name := e.Name
	created := jsonResponse("Created.", schemaRef(name))
	created.Headers = map[string]*oaHeader{"Location": {Description: "the record's URL", Schema: simple(typeString)}}
	return &oaPath{
		Get: &oaOperation{
			OperationID: "list" + name,
			Tags:        []string{name},
			Summary:     "List " + name + " records",
			Parameters:  listParameters(e),
			Responses: map[string]*oaResponse{
				"200":     jsonResponse("A page of records.", schemaRef(name+".List")),
				"400":     responseRef("BadRequest"),
				"default": responseRef("Error"),
			},
		},
		Post: &oaOperation{
			OperationID: "create" + name,
			Tags:        []string{name},
			Summary:     "Create a " + name,
			RequestBody: requestBody(name+".Input", false),
			Responses:   writeResponses(map[string]*oaResponse{"201": created}),
		},
	}
}

// itemPath is /api/<plural>/{id}: get, replace, update and delete.
func itemPath(e *Entity) *oaPath {
	name := e.Name
	one := func(desc string) *oaResponse { return jsonResponse(desc, schemaRef(name)) }
	idParam := &oaParameter{Name: "id", In: "path", Required: true, Schema: simple(typeString)}
	return &oaPath{
		Parameters: []*oaParameter{idParam},
		Get: &oaOperation{
			OperationID: "get" + name,
			Tags:        []string{name},
			Summary:     "Get a " + name,
			Responses: map[string]*oaResponse{
				"200":     one("The record."),
				"404":     responseRef("NotFound"),
				"default": responseRef("Error"),
			},
		},
		Put: &oaOperation{
			OperationID: "replace" + name,
			Tags:        []string{name},
			Summary:     "Replace a " + name,
			RequestBody: requestBody(name+".Input", false),
			Responses:   writeResponses(map[string]*oaResponse{"200": one("The record as replaced."), "404": responseRef("NotFound")}),
		},
		Patch: &oaOperation{
			OperationID: "update" + name,
			Tags:        []string{name},
			Summary:     "Update some fields of a " + name,
			RequestBody: requestBody(name+".Patch", true),
			Responses:   writeResponses(map[string]*oaResponse{"200": one("The record as updated."), "404": responseRef("NotFound")}),
		},
		Delete: &oaOperation{
			OperationID: "delete" + name,
			Tags:        []string{name},
			Summary:     "Delete a " + name,
			Responses: map[string]*oaResponse{
				"204":     {Description: "Deleted."},
				"404":     responseRef("NotFound"),
				"409":     responseRef("Conflict"),
				"default": responseRef("Error"),
			},
		},
	}
}

// requestBody is a required JSON body of the named schema; a merge patch
// may also be declared application/merge-patch+json.
func requestBody(schema string, mergePatch bool) *oaRequestBody {
	content := jsonContent(schemaRef(schema))
	if mergePatch {
		content["application/merge-patch+json"] = &oaMediaType{Schema: schemaRef(schema)}
	}
	return &oaRequestBody{Required: true, Content: content}
}

// writeResponses adds the errors a create, replace or update can end with.
func writeResponses(byCode map[string]*oaResponse) map[string]*oaResponse {
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
	return byCode
}

// listParameters are a list's query parameters: paging, sort and a filter
// per column and operator (see parseList).
func listParameters(e *Entity) []*oaParameter {
	limit := &oaSchema{Type: typed(typeInteger), Minimum: new(1.0), Maximum: new(float64(MaxLimit)), Default: DefaultLimit}
	offset := &oaSchema{Type: typed(typeInteger), Minimum: new(0.0), Default: 0}
	params := []*oaParameter{
		queryParam("limit", "", limit),
		queryParam("offset", "", offset),
		queryParam("sort", "comma-separated fields, - before a field for descending; default: creation order", simple(typeString)),
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
func filterParameters(name string, t Type) []*oaParameter {
	ops := []string{"eq", "ne"}
	if ordered(t) {
		ops = append(ops, "gt", "gte", "lt", "lte")
	}
	if t == TypeJSON {
		ops = nil
	}
	value := filterValueSchema(t)
	var params []*oaParameter
	for _, op := range ops {
		desc := "records whose " + name + " " + opDescriptions[op] + " the value"
		if op == "eq" && name != "limit" && name != "offset" && name != "sort" {
			params = append(params, queryParam(name, desc+" (repeat for any of several)", value))
		}
		params = append(params, queryParam(name+"["+op+"]", desc, value))
	}
	return append(params, queryParam(name+"[null]", "records whose "+name+" is (true) or is not (false) empty", simple(typeBoolean)))
}

// queryParam is a query parameter.
func queryParam(name, desc string, schema *oaSchema) *oaParameter {
	return &oaParameter{Name: name, In: "query", Description: desc, Schema: schema}
}

// filterValueSchema is the schema of a filter's value for a column of type t.
func filterValueSchema(t Type) *oaSchema {
	switch t {
	case TypeNumber, TypeInteger, TypeBoolean:
		return simple(string(t))
	case TypeDate:
		return &oaSchema{Type: typed(typeString), Format: "date-time"}
	}
	return simple(typeString)
}
