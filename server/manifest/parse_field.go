package manifest

import (
	"math"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fieldParse is one field being parsed.
type fieldParse struct {
	*parser
	n    *yaml.Node
	path string
	keys map[string]entry
	f    Field
	ref  *refUse
	// typeOK says the type is known; valid, that the rules read so far are
	// sound enough to check the default against.
	typeOK, valid bool
}

// fieldRules read a field's keys after its name and type, in this order:
// the default goes last, as it is checked against all the others.
var fieldRules = []func(*fieldParse){
	(*fieldParse).flags,
	(*fieldParse).enum,
	(*fieldParse).refTarget,
	(*fieldParse).bounds,
	(*fieldParse).pattern,
	(*fieldParse).defaultValue,
}

// field parses one field. It returns the ref it makes, if any, for checking
// once every entity is known, and the node to blame for its name.
func (p *parser) field(n *yaml.Node, path string) (Field, *refUse, *yaml.Node) {
	keys := p.mapping(n, path, "a field", fieldKeys)
	if keys == nil {
		return Field{}, nil, n
	}
	fp := &fieldParse{parser: p, n: n, path: path, keys: keys}
	nameNode := fp.name()
	fp.typ()
	fp.valid = fp.typeOK
	for _, rule := range fieldRules {
		rule(fp)
	}
	return fp.f, fp.ref, nameNode
}

// name reads the field's name and returns the node to blame for it.
func (fp *fieldParse) name() *yaml.Node {
	e, ok := fp.keys["name"]
	if !ok {
		fp.add(fp.n, join(fp.path, "name"), "a field needs a name")
		return fp.n
	}
	s, ok := fp.ident(e, join(fp.path, "name"), "field")
	if !ok {
		return e.val
	}
	if slices.ContainsFunc(reservedFields, func(r string) bool { return strings.EqualFold(s, r) }) {
		fp.add(e.val, join(fp.path, "name"), "field name %q is reserved: every record has id, createdAt and updatedAt", s)
	} else {
		fp.f.Name = s
	}
	return e.val
}

func (fp *fieldParse) typ() {
	e, ok := fp.keys["type"]
	if !ok {
		fp.add(fp.n, join(fp.path, "type"), "a field needs a type")
		return
	}
	s, ok := fp.str(e, join(fp.path, "type"))
	if !ok {
		return
	}
	if Type(s).valid() {
		fp.f.Type, fp.typeOK = Type(s), true
		return
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	fp.add(e.val, join(fp.path, "type"), "unknown type %q (expected one of: %s)", s, strings.Join(names, ", "))
}

// flags reads required and unique.
func (fp *fieldParse) flags() {
	if e, ok := fp.keys["required"]; ok {
		fp.f.Required = fp.boolean(e, join(fp.path, "required"))
	}
	if e, ok := fp.keys["unique"]; ok {
		fp.f.Unique = fp.boolean(e, join(fp.path, "unique"))
		if fp.f.Unique && fp.f.Type == TypeJSON {
			fp.add(e.key, join(fp.path, "unique"), "unique is not allowed for json fields")
		}
	}
}

func (fp *fieldParse) enum() {
	e, ok := fp.keys["enum"]
	if !ok {
		if fp.f.Type == TypeEnum {
			fp.add(fp.n, join(fp.path, "enum"), "type enum needs its values: enum: [a, b]")
			fp.valid = false
		}
		return
	}
	epath := join(fp.path, "enum")
	switch {
	case fp.typeOK && fp.f.Type != TypeEnum:
		fp.add(e.key, epath, "enum is only allowed with type: enum")
		return
	case e.val.Kind != yaml.SequenceNode:
		fp.add(e.val, epath, "must be a list of values, not %s", kindName(e.val))
		fp.valid = false
		return
	case len(e.val.Content) == 0:
		fp.add(e.val, epath, "list at least one value")
		fp.valid = false
		return
	}
	fp.f.Enum = []string{}
	for i, vn := range e.val.Content {
		vn = resolve(vn)
		vpath := index(epath, i)
		if vn.Kind != yaml.ScalarNode || vn.Tag != "!!str" {
			fp.add(vn, vpath, "enum values must be strings (quote numbers and booleans)")
			fp.valid = false
			continue
		}
		if slices.Contains(fp.f.Enum, vn.Value) {
			fp.add(vn, vpath, "duplicate enum value %q", vn.Value)
			continue
		}
		fp.f.Enum = append(fp.f.Enum, vn.Value)
	}
}

// refTarget reads ref, the entity a ref field names.
func (fp *fieldParse) refTarget() {
	e, ok := fp.keys["ref"]
	if !ok {
		if fp.f.Type == TypeRef {
			fp.add(fp.n, join(fp.path, "ref"), "type ref needs the entity it refers to: ref: <EntityName>")
		}
		return
	}
	rpath := join(fp.path, "ref")
	if fp.typeOK && fp.f.Type != TypeRef {
		fp.add(e.key, rpath, "ref is only allowed with type: ref")
	} else if s, ok := fp.str(e, rpath); ok {
		fp.f.Ref = s
		fp.ref = &refUse{target: s, node: e.val, path: rpath}
	}
}

// bounds reads min and max: bounds of a number, or of a string's length.
func (fp *fieldParse) bounds() {
	fp.f.Min = fp.bound("min")
	fp.f.Max = fp.bound("max")
	if f := &fp.f; f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		fp.add(fp.keys["min"].val, join(fp.path, "min"), "min (%s) is greater than max (%s)", formatNumber(*f.Min), formatNumber(*f.Max))
		fp.valid = false
	}
}

func (fp *fieldParse) bound(k string) *float64 {
	e, ok := fp.keys[k]
	if !ok {
		return nil
	}
	t, kpath := fp.f.Type, join(fp.path, k)
	textual := t == TypeString || t == TypeText
	if fp.typeOK && !textual && t != TypeNumber && t != TypeInteger {
		fp.add(e.key, kpath, "%s is only allowed for number, integer, string and text fields", k)
		return nil
	}
	x, ok := fp.number(e, kpath)
	switch {
	case !ok:
	case fp.typeOK && t != TypeNumber && x != math.Trunc(x):
		fp.add(e.val, kpath, "must be a whole number for %s fields", t)
	case fp.typeOK && textual && x < 0:
		fp.add(e.val, kpath, "a length cannot be negative")
	default:
		return &x
	}
	fp.valid = false
	return nil
}

func (fp *fieldParse) pattern() {
	e, ok := fp.keys["pattern"]
	if !ok {
		return
	}
	ppath := join(fp.path, "pattern")
	if fp.typeOK && fp.f.Type != TypeString && fp.f.Type != TypeText {
		fp.add(e.key, ppath, "pattern is only allowed for string and text fields")
		return
	}
	s, ok := fp.str(e, ppath)
	if !ok {
		return
	}
	re, err := regexp.Compile(s)
	if err != nil {
		fp.add(e.val, ppath, "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		fp.valid = false
		return
	}
	fp.f.Pattern, fp.f.re = s, re
}

// defaultValue reads default, which must pass the field's own rules. An
// empty default (or null) means none.
func (fp *fieldParse) defaultValue() {
	e, ok := fp.keys["default"]
	if !ok {
		return
	}
	dpath := join(fp.path, "default")
	switch {
	case fp.f.Type == TypeRef:
		fp.add(e.key, dpath, "default is not allowed for ref fields")
		return
	case e.val.Kind == yaml.ScalarNode && e.val.Tag == "!!null":
		return
	}
	v, err := yamlToJSON(e.val)
	if err != nil {
		fp.add(e.val, dpath, "%v", err)
		return
	}
	if !fp.valid {
		return
	}
	if _, msg := fp.f.normalize(v); msg != "" {
		fp.add(e.val, dpath, "default %s", msg)
	} else {
		fp.f.Default = v
	}
}
