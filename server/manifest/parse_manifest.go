package manifest

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// refUse is a ref field's target, checked once every entity is known.
type refUse struct {
	target string
	node   *yaml.Node
	path   string
}

// seen is the first declaration of a name.
type seen struct {
	name string
	line int
}

func (p *parser) manifest(root *yaml.Node) *Manifest {
	root = resolve(root)
	keys := p.mapping(root, "", "the manifest", manifestKeys)
	if keys == nil {
		return nil
	}
	m := &Manifest{}
	p.header(root, keys, m)
	list := p.entityList(root, keys)
	if list == nil {
		return m
	}
	var refs []refUse
	m.Entities, refs = p.entities(list)
	p.checkRefs(m, refs)
	return m
}

// header reads the manifest's name and version.
func (p *parser) header(root *yaml.Node, keys map[string]entry, m *Manifest) {
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
	if e, ok := keys["database"]; ok {
		if s, ok := p.str(e, "database"); ok {
			if slices.Contains(Databases, Database(s)) {
				m.Database = Database(s)
				p.database = m.Database
			} else {
				p.add(e.val, "database", "unknown database %q (expected one of: %s)", s, joinDatabases())
			}
		}
	}
}

func joinDatabases() string {
	names := make([]string, len(Databases))
	for i, d := range Databases {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// entityList returns the entities' node, a list of at least one, or nil.
func (p *parser) entityList(root *yaml.Node, keys map[string]entry) *yaml.Node {
	e, ok := keys["entities"]
	switch {
	case !ok:
		p.add(root, "entities", "entities is required: list at least one entity")
	case e.val.Kind != yaml.SequenceNode:
		p.add(e.val, "entities", "must be a list of entities, not %s", kindName(e.val))
	case len(e.val.Content) == 0:
		p.add(e.val, "entities", "list at least one entity")
	default:
		return e.val
	}
	return nil
}

// entities parses each entity of list; two may not share a name or a URL.
func (p *parser) entities(list *yaml.Node) ([]Entity, []refUse) {
	names := map[string]seen{}   // lower-case name → first
	plurals := map[string]seen{} // plural → first
	var ents []Entity
	var refs []refUse
	for i, en := range list.Content {
		path := index("entities", i)
		ent, entRefs, nameNode := p.entity(resolve(en), path)
		refs = append(refs, entRefs...)
		if ent.Name != "" && !p.sameName(names, "entity", ent.Name, nameNode, join(path, "name")) {
			if first, dup := plurals[Plural(ent.Name)]; dup {
				p.add(nameNode, join(path, "name"), "entity %q would be served at /api/%s like %q at line %d", ent.Name, Plural(ent.Name), first.name, first.line)
			} else {
				names[strings.ToLower(ent.Name)] = seen{ent.Name, nameNode.Line}
				plurals[Plural(ent.Name)] = seen{ent.Name, nameNode.Line}
			}
		}
		ents = append(ents, ent)
	}
	return ents, refs
}

// sameName reports a name that names already holds, compared ignoring case
// as SQLite does; kind is "entity" or "field".
func (p *parser) sameName(names map[string]seen, kind, name string, node *yaml.Node, path string) bool {
	first, dup := names[strings.ToLower(name)]
	if !dup {
		return false
	}
	if first.name == name {
		p.add(node, path, "duplicate %s name %q (first declared at line %d)", kind, name, first.line)
	} else {
		p.add(node, path, "%s name %q clashes with %q at line %d (names are compared ignoring case)", kind, name, first.name, first.line)
	}
	return true
}

// checkRefs reports refs to entities the manifest does not declare.
func (p *parser) checkRefs(m *Manifest, refs []refUse) {
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
}

// entity parses one entity. It returns the refs its fields make, and the
// node to blame for its name.
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
			if why := reservedEntity(s, p.database); why != "" {
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
	var refs []refUse
	ent.Fields, refs = p.fields(e.val, join(path, "fields"))
	return ent, refs, nameNode
}

// fields parses each field of list; two may not share a name.
func (p *parser) fields(list *yaml.Node, path string) ([]Field, []refUse) {
	names := map[string]seen{}
	var refs []refUse
	fields := []Field{}
	for i, fn := range list.Content {
		fpath := index(path, i)
		f, ref, nameNode := p.field(resolve(fn), fpath)
		if ref != nil {
			refs = append(refs, *ref)
		}
		if f.Name != "" && !p.sameName(names, "field", f.Name, nameNode, join(fpath, "name")) {
			names[strings.ToLower(f.Name)] = seen{f.Name, nameNode.Line}
		}
		fields = append(fields, f)
	}
	return fields, refs
}
