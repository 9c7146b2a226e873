package source

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coderunner/coderunner/server/errs"
)

const (
	// MaxPathBytes is the longest path accepted, in bytes.
	MaxPathBytes = 1024
	// MaxNameBytes is the longest single path segment accepted, in bytes
	// (NAME_MAX on Linux).
	MaxNameBytes = 255
)

// Limits bound one deployment's source. A zero (or negative) field means the
// value of DefaultLimits.
type Limits struct {
	// MaxTotalBytes is the most content bytes all files may add up to.
	MaxTotalBytes int64
	// MaxFiles is the most files a source may have. Archives may hold at
	// most 4 × MaxFiles entries, directories included.
	MaxFiles int
	// MaxFileBytes is the largest one file may be.
	MaxFileBytes int64
}

// DefaultLimits are the limits the API schema enforces too.
var DefaultLimits = Limits{MaxTotalBytes: 50 << 20, MaxFiles: 2000, MaxFileBytes: 10 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultLimits.MaxTotalBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	return l
}

// File is one regular file of a source tree; Path is slash-separated,
// relative, clean.
type File struct {
	Path       string
	Content    []byte
	Executable bool
}

// Tree is a validated source tree: regular files only, sorted by Path, no
// duplicates, no path that is both a file and a directory. Build one with
// FromFiles or FromArchive; the Store and WriteTo re-check a Tree they are
// given.
type Tree struct {
	Files []File
}

// FromFiles validates files and returns them as a Tree. Errors are
// errs.KindInvalidArgument blaming "files[i].path", "files[i].content" or
// "files". The Tree shares the Content slices of files; files itself is not
// modified.
func FromFiles(files []File, lim Limits) (*Tree, error) {
	lim = lim.withDefaults()
	if len(files) == 0 {
		return nil, errs.Field(errs.KindInvalidArgument, "files", "the source has no files")
	}
	if len(files) > lim.MaxFiles {
		return nil, errs.Field(errs.KindInvalidArgument, "files",
			"the source has %d files; the limit is %d", len(files), lim.MaxFiles)
	}
	b := newBuilder(len(files))
	var total int64
	for i, f := range files {
		if msg := checkPath(f.Path); msg != "" {
			return nil, errs.Field(errs.KindInvalidArgument, fmt.Sprintf("files[%d].path", i), "%s", msg)
		}
		if n := int64(len(f.Content)); n > lim.MaxFileBytes {
			return nil, errs.Field(errs.KindInvalidArgument, fmt.Sprintf("files[%d].content", i),
				"%s is %s; the limit per file is %s", quote(f.Path), sizeString(n), sizeString(lim.MaxFileBytes))
		}
		if msg := b.addFile(f); msg != "" {
			return nil, errs.Field(errs.KindInvalidArgument, fmt.Sprintf("files[%d].path", i), "%s", msg)
		}
		total += int64(len(f.Content))
	}
	if total > lim.MaxTotalBytes {
		return nil, errs.Field(errs.KindInvalidArgument, "files",
			"the files add up to %s; the limit for a source is %s", sizeString(total), sizeString(lim.MaxTotalBytes))
	}
	return b.tree(), nil
}

// Digest returns "sha256:<hex>" over a canonical encoding of the tree: for
// each file in path order, its path, executable flag and content, each
// length-prefixed. Equal trees have equal digests however they were sent.
func (t *Tree) Digest() string {
	files := t.Files
	if !slices.IsSortedFunc(files, compareFiles) {
		files = slices.Clone(files)
		slices.SortStableFunc(files, compareFiles)
	}
	h := sha256.New()
	h.Write([]byte("coderunner source v1\x00"))
	var n [8]byte
	for _, f := range files {
		binary.BigEndian.PutUint64(n[:], uint64(len(f.Path)))
		h.Write(n[:])
		h.Write([]byte(f.Path))
		if f.Executable {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(f.Content)))
		h.Write(n[:])
		h.Write(f.Content)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Lookup returns the file at path, a slash-separated path relative to the
// project root.
func (t *Tree) Lookup(path string) (File, bool) {
	i, ok := slices.BinarySearchFunc(t.Files, path, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return File{}, false
	}
	return t.Files[i], true
}

// Size returns the total content bytes of the tree.
func (t *Tree) Size() int64 {
	var n int64
	for _, f := range t.Files {
		n += int64(len(f.Content))
	}
	return n
}

// check verifies the Tree invariants on a Tree that may have been built by
// hand: valid paths, strictly sorted, no file/directory clash.
func (t *Tree) check() error {
	if t == nil || len(t.Files) == 0 {
		return fmt.Errorf("source: the tree has no files")
	}
	b := newBuilder(len(t.Files))
	for i, f := range t.Files {
		if msg := checkPath(f.Path); msg != "" {
			return fmt.Errorf("source: invalid tree: %s", msg)
		}
		if i > 0 && t.Files[i-1].Path >= f.Path {
			return fmt.Errorf("source: invalid tree: files are not sorted by path (%s before %s)", quote(t.Files[i-1].Path), quote(f.Path))
		}
		if msg := b.addFile(f); msg != "" {
			return fmt.Errorf("source: invalid tree: %s", msg)
		}
	}
	return nil
}

func compareFiles(a, b File) int { return strings.Compare(a.Path, b.Path) }

// checkPath returns why p is not an acceptable path, or "".
func checkPath(p string) string {
	if len(p) > MaxPathBytes {
		return fmt.Sprintf("%s is %d bytes long; the limit for a path is %d bytes", quote(p), len(p), MaxPathBytes)
	}
	return checkPathShape(p)
}

// checkPathShape is checkPath without the length limit.
func checkPathShape(p string) string {
	switch {
	case p == "":
		return "a file has an empty path"
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Sprintf("%s contains a NUL byte", quote(p))
	case strings.IndexByte(p, '\\') >= 0:
		return fmt.Sprintf("%s contains a backslash; separate directories with /", quote(p))
	case !utf8.ValidString(p):
		return fmt.Sprintf("%s is not valid UTF-8", quote(p))
	case p[0] == '/':
		return fmt.Sprintf("%s is an absolute path; paths must be relative to the project root", quote(p))
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "":
			return fmt.Sprintf("%s has an empty segment (a doubled or trailing /)", quote(p))
		case seg == ".":
			return fmt.Sprintf(`%s has a "." segment; paths must be clean`, quote(p))
		case seg == "..":
			return fmt.Sprintf(`%s has a ".." segment; paths must stay inside the project`, quote(p))
		case len(seg) > MaxNameBytes:
			return fmt.Sprintf("%s has a name longer than %d bytes", quote(p), MaxNameBytes)
		}
	}
	return ""
}

// builder collects files and detects duplicates and file/directory clashes.
type builder struct {
	files []File
	index map[string]int // path -> index in files
	// dirs maps each directory to a path that makes it one: a file inside
	// it, or "" for a directory entry of an archive.
	dirs map[string]string
}

func newBuilder(n int) *builder {
	return &builder{files: make([]File, 0, n), index: make(map[string]int, n), dirs: make(map[string]string)}
}

// clash returns why p cannot be added as a file (or directory), or "".
func (b *builder) clash(p string, dir bool) string {
	if _, ok := b.index[p]; ok {
		if dir {
			return fmt.Sprintf("%s is both a file and a directory", quote(p))
		}
		return fmt.Sprintf("%s appears more than once", quote(p))
	}
	if child, ok := b.dirs[p]; ok && !dir {
		if child == "" {
			return fmt.Sprintf("%s is both a file and a directory", quote(p))
		}
		return fmt.Sprintf("%s is both a file and a directory (of %s)", quote(p), quote(child))
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			if _, ok := b.index[p[:i]]; ok {
				return fmt.Sprintf("%s is both a file and a directory (of %s)", quote(p[:i]), quote(p))
			}
		}
	}
	return ""
}

func (b *builder) markParents(p string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if _, ok := b.dirs[p[:i]]; ok {
				return // and so are its parents
			}
			b.dirs[p[:i]] = p
		}
	}
}

// addFile adds f, or returns why it clashes with what is already there.
func (b *builder) addFile(f File) string {
	if msg := b.clash(f.Path, false); msg != "" {
		return msg
	}
	b.index[f.Path] = len(b.files)
	b.files = append(b.files, f)
	b.markParents(f.Path)
	return ""
}

// addDir records an explicit directory entry.
func (b *builder) addDir(p string) string {
	if _, ok := b.dirs[p]; ok {
		return ""
	}
	if msg := b.clash(p, true); msg != "" {
		return msg
	}
	b.dirs[p] = ""
	b.markParents(p)
	return ""
}

func (b *builder) tree() *Tree {
	files := b.files
	slices.SortFunc(files, compareFiles)
	return &Tree{Files: files}
}

// quote quotes a path for a message, shortening very long ones.
func quote(p string) string {
	const max = 200
	if len(p) <= max {
		return strconv.Quote(p)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return strconv.Quote(p[:cut]) + "…"
}

// sizeString formats a byte count for a person: "10 MiB", "1.5 KiB", "17 bytes".
func sizeString(n int64) string {
	const kib, mib = 1 << 10, 1 << 20
	format := func(v float64, unit string) string {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0") + " " + unit
	}
	switch {
	case n >= mib:
		if n%mib == 0 {
			return strconv.FormatInt(n/mib, 10) + " MiB"
		}
		return format(float64(n)/mib, "MiB") + " (" + strconv.FormatInt(n, 10) + " bytes)"
	case n >= kib:
		if n%kib == 0 {
			return strconv.FormatInt(n/kib, 10) + " KiB"
		}
		return format(float64(n)/kib, "KiB") + " (" + strconv.FormatInt(n, 10) + " bytes)"
	case n == 1:
		return "1 byte"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}
