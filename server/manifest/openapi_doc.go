package manifest

import "encoding/json"

// The parts of an OpenAPI 3.1 document that Manifest.OpenAPI writes, with
// only the fields it uses. They are ours rather than a library's so that the
// binary does not link (and initialise at every start) a schema validator it
// never runs; the tests still load and validate the document with
// kin-openapi.

type oaDoc struct {
	OpenAPI    string             `json:"openapi"`
	Info       *oaInfo            `json:"info"`
	Paths      map[string]*oaPath `json:"paths"`
	Components *oaComponents      `json:"components,omitempty"`
}

type oaInfo struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

type oaComponents struct {
	Schemas   map[string]*oaSchema   `json:"schemas,omitempty"`
	Responses map[string]*oaResponse `json:"responses,omitempty"`
}

type oaPath struct {
	Parameters []*oaParameter `json:"parameters,omitempty"`
	Get        *oaOperation   `json:"get,omitempty"`
	Put        *oaOperation   `json:"put,omitempty"`
	Post       *oaOperation   `json:"post,omitempty"`
	Delete     *oaOperation   `json:"delete,omitempty"`
	Patch      *oaOperation   `json:"patch,omitempty"`
}

type oaOperation struct {
	Tags        []string               `json:"tags,omitempty"`
	Summary     string                 `json:"summary,omitempty"`
	OperationID string                 `json:"operationId,omitempty"`
	Parameters  []*oaParameter         `json:"parameters,omitempty"`
	RequestBody *oaRequestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*oaResponse `json:"responses"`
}

type oaParameter struct {
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	Schema      *oaSchema `json:"schema,omitempty"`
}

type oaRequestBody struct {
	Required bool                    `json:"required,omitempty"`
	Content  map[string]*oaMediaType `json:"content"`
}

type oaMediaType struct {
	Schema *oaSchema `json:"schema,omitempty"`
}

// oaResponse is either a $ref to one of components.responses or a response.
type oaResponse struct {
	Ref         string                  `json:"$ref,omitempty"`
	Description string                  `json:"description,omitempty"`
	Headers     map[string]*oaHeader    `json:"headers,omitempty"`
	Content     map[string]*oaMediaType `json:"content,omitempty"`
}

type oaHeader struct {
	Description string    `json:"description,omitempty"`
	Schema      *oaSchema `json:"schema,omitempty"`
}

// oaSchema is a JSON Schema (2020-12, as OpenAPI 3.1 has it), or a $ref to
// one of components.schemas. Default, Const and Enum hold JSON values: a
// nil Default is none, but a Default of 0 or false is written, and a nil
// in Enum is null.
type oaSchema struct {
	Ref                  string               `json:"$ref,omitempty"`
	Type                 oaTypes              `json:"type,omitempty"`
	Format               string               `json:"format,omitempty"`
	Description          string               `json:"description,omitempty"`
	ReadOnly             bool                 `json:"readOnly,omitempty"`
	Const                any                  `json:"const,omitempty"`
	Enum                 []any                `json:"enum,omitempty"`
	Default              any                  `json:"default,omitempty"`
	Minimum              *float64             `json:"minimum,omitempty"`
	Maximum              *float64             `json:"maximum,omitempty"`
	MinLength            uint64               `json:"minLength,omitempty"`
	MaxLength            *uint64              `json:"maxLength,omitempty"`
	Pattern              string               `json:"pattern,omitempty"`
	Items                *oaSchema            `json:"items,omitempty"`
	Properties           map[string]*oaSchema `json:"properties,omitempty"`
	Required             []string             `json:"required,omitempty"`
	AdditionalProperties *bool                `json:"additionalProperties,omitempty"`
}

// The JSON Schema types a schema uses.
const (
	typeString  = "string"
	typeNumber  = "number"
	typeInteger = "integer"
	typeBoolean = "boolean"
	typeObject  = "object"
	typeArray   = "array"
	typeNull    = "null"
)

// oaTypes is a schema's type: one name is written as a string, several
// as an array.
type oaTypes []string

func (t oaTypes) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}
