package source

import (
	"maps"
	"slices"
	"strings"
)

type entryKind int

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
)

// entry is one accepted archive entry, before the common top-level
// directory is stripped.
type entry struct {
	path    string // normalised: no "./" prefix, no trailing "/"
	kind    entryKind
	content []byte
	exec    bool
	target  string // symlink target
}

// collector reads an archive's entries while enforcing the limits.
type collector struct {
	lim        Limits
	maxEntries int
	// budget caps the decompressed archive: all content plus room for
	// headers and padding.
	budget  int64
	entries []entry
	// files maps the normalised path of each file entry to its index in
	// entries: the earlier files a hard link may point to.
	files    map[string]int
	nEntries int
	nFiles   int
	total    int64
}

func newCollector(lim Limits) *collector {
	maxEntries := 4 * lim.MaxFiles
	return &collector{
		lim:        lim,
		maxEntries: maxEntries,
		budget:     lim.MaxTotalBytes + int64(maxEntries)*entryOverhead + 1<<20,
		files:      make(map[string]int),
	}
}

// normalise returns the normalised path of an archive entry name; skip is
// true for entries that are ignored (the root directory, __MACOSX/).
func normalise(name string, dir bool) (p string, skip bool, err error) {
	p = name
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	if dir {
		p = strings.TrimSuffix(p, "/")
	}
	if p == "" || p == "." {
		if dir {
			return "", true, nil
		}
		return "", false, invalid("%s is not a valid file name", quote(name))
	}
	if p == "__MACOSX" || strings.HasPrefix(p, "__MACOSX/") {
		return "", true, nil
	}
	// The full length limit applies once the top-level directory is
	// stripped; this bounds what is kept until then.
	if len(p) > MaxPathBytes+MaxNameBytes+1 {
		return "", false, invalid("%s", checkPath(p))
	}
	if msg := checkPathShape(p); msg != "" {
		return "", false, invalid("%s", msg)
	}
	return p, false, nil
}

func (c *collector) addFile(p string, content []byte, exec bool) {
	c.files[p] = len(c.entries)
	c.entries = append(c.entries, entry{path: p, kind: kindFile, content: content, exec: exec})
}

func (c *collector) dir(p string) {
	c.entries = append(c.entries, entry{path: p, kind: kindDir})
}

// commonTop returns the one top-level directory every entry lies under, or
// "" when there is none.
func commonTop(entries []entry) string {
	top, nested := "", false
	for _, e := range entries {
		first, _, found := strings.Cut(e.path, "/")
		if !found && e.kind != kindDir {
			return ""
		}
		nested = nested || found
		if top == "" {
			top = first
		} else if first != top {
			return ""
		}
	}
	if !nested {
		return ""
	}
	return top
}

// build strips the common top-level directory, detects clashes, resolves
// symlinks and returns the Tree.
func (c *collector) build() (*Tree, error) {
	top := commonTop(c.entries)
	b := newBuilder(c.nFiles)
	links := make(map[string]string) // final path -> target
	for _, e := range c.entries {
		p := e.path
		if top != "" {
			if p == top {
				continue
			}
			p = p[len(top)+1:]
		}
		if len(p) > MaxPathBytes {
			return nil, invalid("%s", checkPath(p))
		}
		var msg string
		switch e.kind {
		case kindDir:
			msg = b.addDir(p)
		case kindFile:
			msg = b.addFile(File{Path: p, Content: e.content, Executable: e.exec})
		case kindSymlink:
			msg = b.addFile(File{Path: p})
			links[p] = e.target
		}
		if msg != "" {
			return nil, invalid("%s", msg)
		}
	}
	if len(b.files) == 0 {
		return nil, invalid("the source has no files")
	}
	for _, p := range slices.Sorted(maps.Keys(links)) {
		target, err := resolve(b, links, p)
		if err != nil {
			return nil, err
		}
		if c.total += int64(len(target.Content)); c.total > c.lim.MaxTotalBytes {
			return nil, invalid("the archive's files add up to more than the %s limit for a source (a symlink counts as a copy of its target)", sizeString(c.lim.MaxTotalBytes))
		}
		f := &b.files[b.index[p]]
		f.Content, f.Executable = target.Content, target.Executable
	}
	return b.tree(), nil
}
