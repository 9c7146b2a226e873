package source

import (
	"path"
	"strings"
)

const (
	// maxLinkTarget is the longest symlink target accepted (PATH_MAX).
	maxLinkTarget = 4096
	// maxSymlinkHops bounds symlink chains (SYMLOOP_MAX on Linux).
	maxSymlinkHops = 40
)

// link records a hard link, a copy of an earlier file.
func (c *collector) link(name, p, target string) error {
	t := target
	for strings.HasPrefix(t, "./") {
		t = t[2:]
	}
	if t = path.Clean(t); path.IsAbs(t) || t == ".." || strings.HasPrefix(t, "../") {
		return invalid("%s is a hard link to %s, outside the project", quote(name), quote(target))
	}
	i, ok := c.files[t]
	if !ok {
		return invalid("%s is a hard link to %s, which is not a regular file earlier in the archive", quote(name), quote(target))
	}
	if err := c.countFile(); err != nil {
		return err
	}
	src := c.entries[i]
	if c.total += int64(len(src.content)); c.total > c.lim.MaxTotalBytes {
		return c.totalTooBig()
	}
	c.addFile(p, src.content, src.exec)
	return nil
}

// symlink records a symlink, resolved to a copy of its target in build.
func (c *collector) symlink(name, p, target string) error {
	switch {
	case target == "":
		return invalid("%s is a symlink with an empty target", quote(name))
	case len(target) > maxLinkTarget:
		return invalid("%s is a symlink whose target is longer than %d bytes", quote(name), maxLinkTarget)
	case strings.IndexByte(target, 0) >= 0:
		return invalid("%s is a symlink whose target contains a NUL byte", quote(name))
	case path.IsAbs(target):
		return invalid("%s is a symlink pointing outside the project (%s)", quote(name), quote(target))
	}
	if err := c.countFile(); err != nil {
		return err
	}
	c.entries = append(c.entries, entry{path: p, kind: kindSymlink, target: target})
	return nil
}

// resolve follows the symlink at p to the regular file it ends at.
func resolve(b *builder, links map[string]string, p string) (File, error) {
	cur := p
	for range maxSymlinkHops {
		target := links[cur]
		r := path.Join(path.Dir(cur), target)
		switch {
		case path.IsAbs(target) || r == ".." || strings.HasPrefix(r, "../"):
			return File{}, invalid("%s is a symlink pointing outside the project (%s)", quote(cur), quote(target))
		case r == ".":
			return File{}, invalid("%s is a symlink to a directory (%s); only symlinks to files are supported", quote(cur), quote(target))
		}
		if _, ok := links[r]; ok {
			cur = r
			continue
		}
		if i, ok := b.index[r]; ok {
			return b.files[i], nil
		}
		if _, ok := b.dirs[r]; ok {
			return File{}, invalid("%s is a symlink to a directory (%s); only symlinks to files are supported", quote(cur), quote(target))
		}
		return File{}, invalid("%s is a symlink to %s, which is not a file in the project", quote(cur), quote(target))
	}
	return File{}, invalid("%s is a symlink in a loop or a chain of more than %d symlinks", quote(p), maxSymlinkHops)
}
