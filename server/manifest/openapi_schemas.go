package manifest

import "github.com/getkin/kin-openapi/openapi3"

func typed(types ...string) *openapi3.Types {
	t := openapi3.Types(types)
	return &t
}

func inline(s *openapi3.Schema) *openapi3.SchemaRef { return openapi3.NewSchemaRef("", s) }

// objectSchema is a JSON object with these properties; required may be nil.
func objectSchema(props openapi3.Schemas, required ...string) *openapi3.Schema {
	return &openapi3.Schema{Type: typed(openapi3.TypeObject), Properties: props, Required: required}
}

// closed refuses properties that are not declared.
func closed(s *openapi3.Schema) *openapi3.Schema {
	no := false
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	return s
}

func readOnlyString(format, desc string) *openapi3.SchemaRef {
	return inline(&openapi3.Schema{Type: typed(openapi3.TypeString), ReadOnly: true, Format: format, Description: desc})
}

// errorBodySchema is the body of every error response (see apiError).
func errorBodySchema() *openapi3.Schema {
	str, integer := inline(openapi3.NewStringSchema()), inline(openapi3.NewIntegerSchema())
	fieldError := objectSchema(openapi3.Schemas{"field": str, "message": str}, "field", "message")
	errorObject := objectSchema(openapi3.Schemas{
		"status":  integer,
		"message": str,
		"fields":  inline(&openapi3.Schema{Type: typed(openapi3.TypeArray), Items: inline(fieldError)}),
	}, "status", "message")
	return objectSchema(openapi3.Schemas{"error": inline(errorObject)}, "error")
}

// entitySchemas are an entity's four schemas, by component name: the record
// as served, the body of a create or replace, of a patch, and a list page.
func entitySchemas(e *Entity) openapi3.Schemas {
	record := openapi3.Schemas{"id": readOnlyString("", "generated id (UUIDv7)")}
	recordRequired := []string{"id"}
	input := openapi3.Schemas{
		"id":        readOnlyString("", "read-only: refused on create, must match the URL otherwise"),
		"createdAt": readOnlyString("date-time", "read-only: ignored"),
		"updatedAt": readOnlyString("date-time", "read-only: ignored"),
	}
	var inputRequired []string
	patch := openapi3.Schemas{"id": input["id"], "createdAt": input["createdAt"], "updatedAt": input["updatedAt"]}
	for i := range e.Fields {
		f := &e.Fields[i]
		s := inline(fieldSchema(f, !f.Required))
		record[f.Name], input[f.Name], patch[f.Name] = s, s, s
		recordRequired = append(recordRequired, f.Name)
		if f.Required && f.Default == nil {
			inputRequired = append(inputRequired, f.Name)
		}
	}
	record["createdAt"] = readOnlyString("date-time", "when the record was created")
	record["updatedAt"] = readOnlyString("date-time", "when the record was last written")
	recordRequired = append(recordRequired, "createdAt", "updatedAt")

	patchSchema := closed(objectSchema(patch))
	patchSchema.Description = "JSON merge patch: given fields replace, null clears"
	return openapi3.Schemas{
		e.Name:            inline(closed(objectSchema(record, recordRequired...))),
		e.Name + ".Input": inline(closed(objectSchema(input, inputRequired...))),
		e.Name + ".Patch": inline(patchSchema),
		e.Name + ".List":  inline(listSchema(e.Name)),
	}
}

// listSchema is a page of a list of entity's records.
func listSchema(entity string) *openapi3.Schema {
	total := openapi3.NewIntegerSchema()
	total.Description = "records matching the filters"
	return objectSchema(openapi3.Schemas{
		"items":  inline(&openapi3.Schema{Type: typed(openapi3.TypeArray), Items: schemaRef(entity)}),
		"total":  inline(total),
		"limit":  inline(openapi3.NewIntegerSchema()),
		"offset": inline(openapi3.NewIntegerSchema()),
	}, "items", "total", "limit", "offset")
}

// fieldSchema is the JSON Schema of a field's values; nullable adds null.
func fieldSchema(f *Field, nullable bool) *openapi3.Schema {
	s := &openapi3.Schema{Default: f.Default}
	typ := openapi3.TypeString
	switch f.Type {
	case TypeString, TypeText:
		setLengthRules(s, f)
	case TypeNumber, TypeInteger:
		typ = string(f.Type)
		setNumberRules(s, f)
	case TypeBoolean:
		typ = openapi3.TypeBoolean
	case TypeDate:
		s.Format = "date-time"
		s.Description = "RFC 3339 date-time; a full date (2024-05-01) is accepted as midnight UTC"
	case TypeEnum:
		s.Enum = enumValues(f.Enum, nullable)
	case TypeRef:
		s.Description = "the id of a " + f.Ref
	case TypeJSON:
		s.Description = "any JSON value"
		s.Type = typed(openapi3.TypeObject, openapi3.TypeArray, openapi3.TypeString, openapi3.TypeNumber, openapi3.TypeBoolean)
		if nullable {
			s.Type.With(openapi3.TypeNull)
		}
		return s
	}
	s.Type = typed(typ)
	if nullable {
		s.Type.With(openapi3.TypeNull)
	}
	return s
}

// setLengthRules sets a string field's min, max (in characters) and pattern.
// A min of 0 does not appear in the document: it is JSON Schema's default.
func setLengthRules(s *openapi3.Schema, f *Field) {
	if f.Min != nil {
		s.MinLength = uint64(*f.Min)
	}
	if f.Max != nil {
		n := uint64(*f.Max)
		s.MaxLength = &n
	}
	s.Pattern = f.Pattern
}

func setNumberRules(s *openapi3.Schema, f *Field) {
	if f.Type == TypeInteger {
		s.Format = "int64"
	}
	s.Min, s.Max = f.Min, f.Max
}

// enumValues are an enum field's values, and null when it may be empty.
func enumValues(values []string, nullable bool) []any {
	out := make([]any, 0, len(values)+1)
	for _, v := range values {
		out = append(out, v)
	}
	if nullable {
		out = append(out, nil)
	}
	return out
}
