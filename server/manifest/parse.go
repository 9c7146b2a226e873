package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Keys a manifest's mappings may hold, in the order messages list them.
var (
	manifestKeys = []string{"name", "version", "database", "entities"}
	entityKeys   = []string{"name", "fields"}
	fieldKeys    = []string{"name", "type", "required", "unique", "enum", "default", "min", "max", "pattern", "ref"}
)

// Parse reads a manifest and checks it strictly, reporting every problem
// found rather than the first: YAML syntax errors, unknown keys, duplicate
// keys, missing or mistyped values, unknown types, names that are not
// identifiers ([A-Za-z_][A-Za-z0-9_]*), duplicate entity or field names
// (compared ignoring case, as SQLite does), entities whose URL paths clash,
// reserved field names (id, createdAt, updatedAt), enum without values,
// rules that do not apply to the field's type, min greater than max, bad
// regular expressions, defaults that break the field's own rules and refs to
// unknown entities. Diagnostics are sorted by position. The *Manifest is
// non-nil only when there are none.
func Parse(content []byte) (*Manifest, []Diagnostic) {
	p := &parser{}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.diags = append(p.diags, Diagnostic{Message: "the manifest is empty"})
		} else {
			p.syntax(err)
		}
		return nil, p.diags
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.add(&extra, "", "only one YAML document is allowed; remove the '---' separator")
	case !errors.Is(err, io.EOF):
		p.syntax(err)
	}
	var m *Manifest
	if len(doc.Content) == 1 {
		m = p.manifest(doc.Content[0])
	} else {
		p.diags = append(p.diags, Diagnostic{Message: "the manifest is empty"})
	}
	if len(p.diags) > 0 {
		sort.SliceStable(p.diags, func(i, j int) bool {
			a, b := p.diags[i], p.diags[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, p.diags
	}
	return m, nil
}

type parser struct {
	diags []Diagnostic
	// database is the manifest's, read before its names, which it limits.
	database Database
}

func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	d := Diagnostic{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Column = n.Line, n.Column
	}
	p.diags = append(p.diags, d)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of go.yaml.in/yaml/v3's parser errors
// (as opposed to its scanner's).
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// syntax records a YAML syntax error. The parser reports a line but no
// column, so Column stays 0.
func (p *parser) syntax(err error) {
	msg := err.Error()
	d := Diagnostic{Message: "YAML syntax error: " + strings.TrimPrefix(msg, "yaml: ")}
	problem := strings.TrimPrefix(msg, "yaml: ")
	if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
		d.Line, _ = strconv.Atoi(sm[1])
		problem = sm[2]
		d.Message = "YAML syntax error: " + problem
	}
	// The parser (unlike the scanner) reports 0-based lines, and none at all
	// for the first line.
	if slices.Contains(yamlParserProblems, problem) {
		d.Line++
	}
	p.diags = append(p.diags, d)
}
