package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Keys a manifest's mappings may hold, in the order messages list them.
var (
	manifestKeys = []string{"name", "version", "entities"}
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a scalar"
	}
	return "not a value"
}

type entry struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping with only allowed keys, each once, and
// returns its entries by key.
func (p *parser) mapping(n *yaml.Node, path, what string, allowed []string) map[string]entry {
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	out := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.add(k, path, "keys must be plain names")
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.add(k, join(path, k.Value), "unknown key %q (expected one of: %s)", k.Value, strings.Join(allowed, ", "))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			p.add(k, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, prev.key.Line)
			continue
		}
		out[k.Value] = entry{k, v}
	}
	return out
}

// str returns a scalar's text, reporting a non-scalar or empty value.
func (p *parser) str(e entry, path string) (string, bool) {
	if e.val.Kind != yaml.ScalarNode || e.val.Tag == "!!null" || e.val.Value == "" {
		p.add(e.val, path, "must be a non-empty string, not %s", kindName(e.val))
		return "", false
	}
	return e.val.Value, true
}

func (p *parser) boolean(e entry, path string) bool {
	if e.val.Kind != yaml.ScalarNode || e.val.Tag != "!!bool" {
		p.add(e.val, path, "must be true or false")
		return false
	}
	var b bool
	_ = e.val.Decode(&b)
	return b
}

func (p *parser) number(e entry, path string) (float64, bool) {
	if e.val.Kind != yaml.ScalarNode || (e.val.Tag != "!!int" && e.val.Tag != "!!float") {
		p.add(e.val, path, "must be a number")
		return 0, false
	}
	var f float64
	if err := e.val.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		p.add(e.val, path, "must be a finite number")
		return 0, false
	}
	return f, true
}

// ident checks an entity or field name.
func (p *parser) ident(e entry, path, what string) (string, bool) {
	s, ok := p.str(e, path)
	if !ok {
		return "", false
	}
	if !identRE.MatchString(s) {
		p.add(e.val, path, "%s name %q is not an identifier: use letters, digits and _, not starting with a digit", what, s)
		return "", false
	}
	return s, true
}

func (p *parser) manifest(root *yaml.Node) *Manifest {
	root = resolve(root)
	keys := p.mapping(root, "", "the manifest", manifestKeys)
	if keys == nil {
		return nil
	}
	m := &Manifest{}
	if e, ok := keys["name"]; ok {
		if s, ok := p.str(e, "name"); ok {
			if len(s) > 100 || strings.ContainsAny(s, "\r\n") {
				p.add(e.val, "name", "must be one line of at most 100 characters")
			}
			m.Name = s
		}
	} else {
		p.add(root, "name", "name is required")
	}
	if e, ok := keys["version"]; ok {
		if s, ok := p.str(e, "version"); ok {
			m.Version = s
		}
	}
	e, ok := keys["entities"]
	if !ok {
		p.add(root, "entities", "entities is required: list at least one entity")
		return m
	}
	if e.val.Kind != yaml.SequenceNode {
		p.add(e.val, "entities", "must be a list of entities, not %s", kindName(e.val))
		return m
	}
	if len(e.val.Content) == 0 {
		p.add(e.val, "entities", "list at least one entity")
		return m
	}
	type seen struct {
		name string
		line int
	}
	names := map[string]seen{}   // lower-case name → first
	plurals := map[string]seen{} // plural → first
	var refs []refUse
	for i, en := range e.val.Content {
		path := index("entities", i)
		ent, entRefs, nameNode := p.entity(resolve(en), path)
		refs = append(refs, entRefs...)
		if ent.Name != "" {
			lower := strings.ToLower(ent.Name)
			if first, dup := names[lower]; dup {
				if first.name == ent.Name {
					p.add(nameNode, join(path, "name"), "duplicate entity name %q (first declared at line %d)", ent.Name, first.line)
				} else {
					p.add(nameNode, join(path, "name"), "entity name %q clashes with %q at line %d (names are compared ignoring case)", ent.Name, first.name, first.line)
				}
			} else if first, dup := plurals[Plural(ent.Name)]; dup {
				p.add(nameNode, join(path, "name"), "entity %q would be served at /api/%s like %q at line %d", ent.Name, Plural(ent.Name), first.name, first.line)
			} else {
				names[lower] = seen{ent.Name, nameNode.Line}
				plurals[Plural(ent.Name)] = seen{ent.Name, nameNode.Line}
			}
		}
		m.Entities = append(m.Entities, ent)
	}
	var all []string
	for _, en := range m.Entities {
		if en.Name != "" {
			all = append(all, en.Name)
		}
	}
	for _, r := range refs {
		if !slices.Contains(all, r.target) {
			p.add(r.node, r.path, "unknown entity %q (entities: %s)", r.target, strings.Join(all, ", "))
		}
	}
	return m
}

type refUse struct {
	target string
	node   *yaml.Node
	path   string
}

func (p *parser) entity(n *yaml.Node, path string) (Entity, []refUse, *yaml.Node) {
	var ent Entity
	keys := p.mapping(n, path, "an entity", entityKeys)
	if keys == nil {
		return ent, nil, n
	}
	nameNode := n
	if e, ok := keys["name"]; ok {
		nameNode = e.val
		if s, ok := p.ident(e, join(path, "name"), "entity"); ok {
			if why := reservedEntity(s); why != "" {
				p.add(e.val, join(path, "name"), "entity name %q is reserved: %s", s, why)
			} else {
				ent.Name = s
			}
		}
	} else {
		p.add(n, join(path, "name"), "an entity needs a name")
	}
	e, ok := keys["fields"]
	if !ok {
		p.add(n, join(path, "fields"), "an entity needs fields (a list, may be empty: fields: [])")
		return ent, nil, nameNode
	}
	if e.val.Kind != yaml.SequenceNode {
		p.add(e.val, join(path, "fields"), "must be a list of fields, not %s", kindName(e.val))
		return ent, nil, nameNode
	}
	type seen struct {
		name string
		line int
	}
	names := map[string]seen{}
	var refs []refUse
	ent.Fields = []Field{}
	for i, fn := range e.val.Content {
		fpath := index(join(path, "fields"), i)
		f, ref, fnameNode := p.field(resolve(fn), fpath)
		if ref != nil {
			refs = append(refs, *ref)
		}
		if f.Name != "" {
			lower := strings.ToLower(f.Name)
			if first, dup := names[lower]; dup {
				if first.name == f.Name {
					p.add(fnameNode, join(fpath, "name"), "duplicate field name %q (first declared at line %d)", f.Name, first.line)
				} else {
					p.add(fnameNode, join(fpath, "name"), "field name %q clashes with %q at line %d (names are compared ignoring case)", f.Name, first.name, first.line)
				}
			} else {
				names[lower] = seen{f.Name, fnameNode.Line}
			}
		}
		ent.Fields = append(ent.Fields, f)
	}
	return ent, refs, nameNode
}

// field parses one field. It returns the ref it makes, if any, for checking
// once every entity is known, and the node to blame for its name.
func (p *parser) field(n *yaml.Node, path string) (Field, *refUse, *yaml.Node) {
	var f Field
	keys := p.mapping(n, path, "a field", fieldKeys)
	if keys == nil {
		return f, nil, n
	}
	nameNode := n
	if e, ok := keys["name"]; ok {
		nameNode = e.val
		if s, ok := p.ident(e, join(path, "name"), "field"); ok {
			reserved := false
			for _, r := range reservedFields {
				if strings.EqualFold(s, r) {
					p.add(e.val, join(path, "name"), "field name %q is reserved: every record has id, createdAt and updatedAt", s)
					reserved = true
				}
			}
			if !reserved {
				f.Name = s
			}
		}
	} else {
		p.add(n, join(path, "name"), "a field needs a name")
	}
	typeOK := false
	if e, ok := keys["type"]; ok {
		if s, ok := p.str(e, join(path, "type")); ok {
			if Type(s).valid() {
				f.Type, typeOK = Type(s), true
			} else {
				names := make([]string, len(Types))
				for i, t := range Types {
					names[i] = string(t)
				}
				p.add(e.val, join(path, "type"), "unknown type %q (expected one of: %s)", s, strings.Join(names, ", "))
			}
		}
	} else {
		p.add(n, join(path, "type"), "a field needs a type")
	}
	// valid tracks whether the rules are sound enough to check the default.
	valid := typeOK
	if e, ok := keys["required"]; ok {
		f.Required = p.boolean(e, join(path, "required"))
	}
	if e, ok := keys["unique"]; ok {
		f.Unique = p.boolean(e, join(path, "unique"))
		if f.Unique && f.Type == TypeJSON {
			p.add(e.key, join(path, "unique"), "unique is not allowed for json fields")
		}
	}

	// enum
	if e, ok := keys["enum"]; ok {
		epath := join(path, "enum")
		switch {
		case typeOK && f.Type != TypeEnum:
			p.add(e.key, epath, "enum is only allowed with type: enum")
		case e.val.Kind != yaml.SequenceNode:
			p.add(e.val, epath, "must be a list of values, not %s", kindName(e.val))
			valid = false
		case len(e.val.Content) == 0:
			p.add(e.val, epath, "list at least one value")
			valid = false
		default:
			f.Enum = []string{}
			for i, vn := range e.val.Content {
				vn = resolve(vn)
				vpath := index(epath, i)
				if vn.Kind != yaml.ScalarNode || vn.Tag != "!!str" {
					p.add(vn, vpath, "enum values must be strings (quote numbers and booleans)")
					valid = false
					continue
				}
				if slices.Contains(f.Enum, vn.Value) {
					p.add(vn, vpath, "duplicate enum value %q", vn.Value)
					continue
				}
				f.Enum = append(f.Enum, vn.Value)
			}
		}
	} else if f.Type == TypeEnum {
		p.add(n, join(path, "enum"), "type enum needs its values: enum: [a, b]")
		valid = false
	}

	// ref
	var ref *refUse
	if e, ok := keys["ref"]; ok {
		rpath := join(path, "ref")
		if typeOK && f.Type != TypeRef {
			p.add(e.key, rpath, "ref is only allowed with type: ref")
		} else if s, ok := p.str(e, rpath); ok {
			f.Ref = s
			ref = &refUse{target: s, node: e.val, path: rpath}
		}
	} else if f.Type == TypeRef {
		p.add(n, join(path, "ref"), "type ref needs the entity it refers to: ref: <EntityName>")
	}

	// min, max
	bounded := f.Type == TypeNumber || f.Type == TypeInteger || f.Type == TypeString || f.Type == TypeText
	whole := f.Type != TypeNumber
	for _, k := range []string{"min", "max"} {
		e, ok := keys[k]
		if !ok {
			continue
		}
		kpath := join(path, k)
		if typeOK && !bounded {
			p.add(e.key, kpath, "%s is only allowed for number, integer, string and text fields", k)
			continue
		}
		x, ok := p.number(e, kpath)
		if !ok {
			valid = false
			continue
		}
		if typeOK && whole && x != math.Trunc(x) {
			p.add(e.val, kpath, "must be a whole number for %s fields", f.Type)
			valid = false
			continue
		}
		if typeOK && (f.Type == TypeString || f.Type == TypeText) && x < 0 {
			p.add(e.val, kpath, "a length cannot be negative")
			valid = false
			continue
		}
		if k == "min" {
			f.Min = &x
		} else {
			f.Max = &x
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		p.add(keys["min"].val, join(path, "min"), "min (%s) is greater than max (%s)", formatNumber(*f.Min), formatNumber(*f.Max))
		valid = false
	}

	// pattern
	if e, ok := keys["pattern"]; ok {
		ppath := join(path, "pattern")
		if typeOK && f.Type != TypeString && f.Type != TypeText {
			p.add(e.key, ppath, "pattern is only allowed for string and text fields")
		} else if s, ok := p.str(e, ppath); ok {
			re, err := regexp.Compile(s)
			if err != nil {
				p.add(e.val, ppath, "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				valid = false
			} else {
				f.Pattern, f.re = s, re
			}
		}
	}

	// default
	if e, ok := keys["default"]; ok {
		dpath := join(path, "default")
		switch {
		case f.Type == TypeRef:
			p.add(e.key, dpath, "default is not allowed for ref fields")
		case e.val.Kind == yaml.ScalarNode && e.val.Tag == "!!null":
			// default: (empty) or null means no default.
		default:
			v, err := yamlToJSON(e.val)
			if err != nil {
				p.add(e.val, dpath, "%v", err)
			} else if valid {
				if _, msg := f.normalize(v); msg != "" {
					p.add(e.val, dpath, "default %s", msg)
				} else {
					f.Default = v
				}
			}
		}
	}
	return f, ref, nameNode
}

// yamlToJSON turns a YAML node into the value JSON decoding with UseNumber
// would give for the same data.
func yamlToJSON(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			err := n.Decode(&b)
			return b, err
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return json.Number(strconv.FormatInt(i, 10)), nil
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("%q is not a number JSON can hold", n.Value)
			}
			return json.Number(formatNumber(f)), nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("%q is not a number JSON can hold", n.Value)
			}
			return json.Number(formatNumber(f)), nil
		}
		return n.Value, nil // strings, timestamps as written, binary as written
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlToJSON(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, errors.New("mapping keys must be strings")
			}
			v, err := yamlToJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	}
	return nil, errors.New("not a JSON value")
}
