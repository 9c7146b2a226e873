package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// join and index extend a Diagnostic's Path by a key or a list index.
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
	if p.database == Postgres && len(s) > postgresDialect.maxIdent {
		p.add(e.val, path, "%s name %q is longer than %d characters, the most PostgreSQL allows", what, s, postgresDialect.maxIdent)
		return "", false
	}
	return s, true
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
