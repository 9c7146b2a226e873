package manifest

func typed(types ...string) oaTypes { return types }

// simple is a schema of one type and no other rule.
func simple(typ string) *oaSchema { return &oaSchema{Type: typed(typ)} }

// objectSchema is a JSON object with these properties; required may be nil.
func objectSchema(props map[string]*oaSchema, required ...string) *oaSchema {
	return &oaSchema{Type: typed(typeObject), Properties: props, Required: required}
}

// closed refuses properties that are not declared.
func closed(s *oaSchema) *oaSchema {
	s.AdditionalProperties = new(false)
	return s
}

func readOnlyString(format, desc string) *oaSchema {
	return &oaSchema{Type: typed(typeString), ReadOnly: true, Format: format, Description: desc}
}

// errorBodySchema is the body of every error response (see apiError).
func errorBodySchema() *oaSchema {
	str, integer := simple(typeString), simple(typeInteger)
	fieldError := objectSchema(map[string]*oaSchema{"field": str, "message": str}, "field", "message")
	errorObject := objectSchema(map[string]*oaSchema{
		"status":  integer,
		"message": str,
		"fields":  {Type: typed(typeArray), Items: fieldError},
	}, "status", "message")
	return objectSchema(map[string]*oaSchema{"error": errorObject}, "error")
}

// entitySchemas are an entity's four schemas, by component name: the record
// as served, the body of a create or replace, of a patch, and a list page.
func entitySchemas(e *Entity) map[string]*oaSchema {
	record := map[string]*oaSchema{"id": readOnlyString("", "generated id (UUIDv7)")}
	recordRequired := []string{"id"}
	input := map[string]*oaSchema{
		"id":        readOnlyString("", "read-only: refused on create, must match the URL otherwise"),
		"createdAt": readOnlyString("date-time", "read-only: ignored"),
		"updatedAt": readOnlyString("date-time", "read-only: ignored"),
	}
	var inputRequired []string
	patch := map[string]*oaSchema{"id": input["id"], "createdAt": input["createdAt"], "updatedAt": input["updatedAt"]}
	for i := range e.Fields {
		f := &e.Fields[i]
		s := fieldSchema(f, !f.Required)
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
	return map[string]*oaSchema{
		e.Name:            closed(objectSchema(record, recordRequired...)),
		e.Name + ".Input": closed(objectSchema(input, inputRequired...)),
		e.Name + ".Patch": patchSchema,
		e.Name + ".List":  listSchema(e.Name),
	}
}

// listSchema is a page of a list of entity's records.
func listSchema(entity string) *oaSchema {
	return objectSchema(map[string]*oaSchema{
		"items":  {Type: typed(typeArray), Items: schemaRef(entity)},
		"total":  {Type: typed(typeInteger), Description: "records matching the filters"},
		"limit":  simple(typeInteger),
		"offset": simple(typeInteger),
	}, "items", "total", "limit", "offset")
}

// fieldSchema is the JSON Schema of a field's values; nullable adds null.
func fieldSchema(f *Field, nullable bool) *oaSchema {
	s := &oaSchema{Default: f.Default}
	typ := typeString
	switch f.Type {
	case TypeString, TypeText:
		setLengthRules(s, f)
	case TypeNumber, TypeInteger:
		typ = string(f.Type)
		setNumberRules(s, f)
	case TypeBoolean:
		typ = typeBoolean
	case TypeDate:
		s.Format = "date-time"
		s.Description = "RFC 3339 date-time; a full date (2024-05-01) is accepted as midnight UTC"
	case TypeEnum:
		s.Enum = enumValues(f.Enum, nullable)
	case TypeRef:
		s.Description = "the id of a " + f.Ref
	case TypeJSON:
		s.Description = "any JSON value"
		s.Type = typed(typeObject, typeArray, typeString, typeNumber, typeBoolean)
		if nullable {
			s.Type = append(s.Type, typeNull)
		}
		return s
	}
	s.Type = typed(typ)
	if nullable {
		s.Type = append(s.Type, typeNull)
	}
	return s
}

// setLengthRules sets a string field's min, max (in characters) and pattern.
// A min of 0 does not appear in the document: it is JSON Schema's default.
func setLengthRules(s *oaSchema, f *Field) {
	if f.Min != nil {
		s.MinLength = uint64(*f.Min)
	}
	if f.Max != nil {
		n := uint64(*f.Max)
		s.MaxLength = &n
	}
	s.Pattern = f.Pattern
}

func setNumberRules(s *oaSchema, f *Field) {
	if f.Type == TypeInteger {
		s.Format = "int64"
	}
	s.Minimum, s.Maximum = f.Min, f.Max
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
