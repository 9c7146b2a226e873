package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
)

const (
	// maxLinkTarget is the longest symlink target accepted (PATH_MAX).
	maxLinkTarget = 4096
	// maxSymlinkHops bounds symlink chains (SYMLOOP_MAX on Linux).
	maxSymlinkHops = 40
	// entryOverhead is the average room allowed per archive entry for
	// headers and padding when capping an archive's decompressed size.
	entryOverhead = 4 << 10
)

// errExpanded is returned by budgetReader once the decompressed archive
// exceeds its cap.
var errExpanded = errors.New("source: archive expands beyond its cap")

const acceptedFormats = "accepted formats are .tar.gz (or .tgz), .tar and .zip"

// FromArchive validates a .tar.gz, .tar or .zip archive, detected by content,
// and returns its files as a Tree. See the package documentation for how
// names are normalised and which entry types are accepted. Errors are
// errs.KindInvalidArgument blaming "archive".
func FromArchive(data []byte, lim Limits) (*Tree, error) {
	c := newCollector(lim.withDefaults())
	if int64(len(data)) > c.budget {
		return nil, invalid("the archive is %s; the limit is %s", sizeString(int64(len(data))), sizeString(c.budget))
	}
	var err error
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		err = c.readGzip(data)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		err = c.readZip(data)
	case isTar(data):
		err = c.readTar(bytes.NewReader(data), false)
	default:
		return nil, invalid("%s; %s", describeUnknown(data), acceptedFormats)
	}
	if err != nil {
		return nil, err
	}
	return c.build()
}

func invalid(format string, args ...any) *errs.Error {
	return errs.Field(errs.KindInvalidArgument, "archive", format, args...)
}

func isTar(data []byte) bool {
	return len(data) >= 512 && string(data[257:262]) == "ustar"
}

func describeUnknown(data []byte) string {
	has := func(magic string) bool { return bytes.HasPrefix(data, []byte(magic)) }
	switch {
	case len(data) == 0:
		return "the archive is empty"
	case has("BZh"):
		return "the archive is bzip2-compressed"
	case has("\xfd7zXZ\x00"):
		return "the archive is xz-compressed"
	case has("\x28\xb5\x2f\xfd"):
		return "the archive is zstd-compressed"
	case has("7z\xbc\xaf\x27\x1c"):
		return "the archive is a 7-Zip archive"
	case has("Rar!\x1a\x07"):
		return "the archive is a RAR archive"
	default:
		return "the archive is not in a recognised format"
	}
}

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

func (c *collector) tooManyEntries() error {
	return invalid("the archive has more entries (files, directories and links) than the limit of %d", c.maxEntries)
}

func (c *collector) countEntry() error {
	c.nEntries++
	if c.nEntries > c.maxEntries {
		return c.tooManyEntries()
	}
	return nil
}

func (c *collector) countFile() error {
	c.nFiles++
	if c.nFiles > c.lim.MaxFiles {
		return invalid("the archive has more files than the limit of %d", c.lim.MaxFiles)
	}
	return nil
}

func (c *collector) totalTooBig() error {
	return invalid("the archive's files add up to more than the %s limit for a source", sizeString(c.lim.MaxTotalBytes))
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

// readContent reads one file's content through a limit, never trusting
// hint (the size its header declares) beyond preallocating.
func (c *collector) readContent(name string, r io.Reader, hint int64) ([]byte, error) {
	allowed := min(c.lim.MaxFileBytes, c.lim.MaxTotalBytes-c.total)
	// One byte more than allowed tells a file that is too big; the
	// preallocation is exact for an honest header.
	limit := allowed + 1
	buf := make([]byte, 0, max(0, min(hint, allowed))+1)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if n := int64(len(buf)); n > allowed {
		if n > c.lim.MaxFileBytes {
			return nil, invalid("%s is larger than the %s limit per file", quote(name), sizeString(c.lim.MaxFileBytes))
		}
		return nil, c.totalTooBig()
	}
	if cap(buf)-len(buf) > len(buf)/8+512 {
		buf = slices.Clip(slices.Clone(buf))
	}
	c.total += int64(len(buf))
	return buf, nil
}

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

func (c *collector) dir(p string) {
	c.entries = append(c.entries, entry{path: p, kind: kindDir})
}

func (c *collector) readGzip(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return invalid("the archive is not valid gzip data (%v)", err)
	}
	return c.readTar(zr, true)
}

// budgetReader fails with errExpanded once more than left bytes were read.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errExpanded
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// streamErr turns an error reading a tar stream into a message.
func (c *collector) streamErr(name string, err error, gz bool) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, errExpanded):
		return invalid("the archive expands to more than %s; the limit is %s of files plus headers", sizeString(c.budget), sizeString(c.lim.MaxTotalBytes))
	case errors.Is(err, tar.ErrHeader) && gz && c.nEntries == 0:
		return invalid("the gzip data is not a tar archive; %s", acceptedFormats)
	case errors.Is(err, io.ErrUnexpectedEOF) && name == "":
		return invalid("the archive is truncated")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the archive is truncated in the middle of %s", quote(name))
	case name == "":
		return invalid("the archive is corrupt (%v)", err)
	default:
		return invalid("the archive is corrupt in %s (%v)", quote(name), err)
	}
}

func (c *collector) readTar(r io.Reader, gz bool) error {
	tr := tar.NewReader(&budgetReader{r: r, left: c.budget})
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // we check paths ourselves
			return c.streamErr("", err, gz)
		}
		if err := c.countEntry(); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := hdr.Name
		p, skip, err := normalise(name, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			c.dir(p)
		case tar.TypeReg, tar.TypeGNUSparse:
			if err := c.countFile(); err != nil {
				return err
			}
			content, err := c.readContent(name, tr, hdr.Size)
			if err != nil {
				return c.streamErr(name, err, gz)
			}
			c.addFile(p, content, hdr.Mode&0o100 != 0)
		case tar.TypeLink:
			if err := c.link(name, p, hdr.Linkname); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := c.symlink(name, p, hdr.Linkname); err != nil {
				return err
			}
		default:
			return invalid("%s is %s; only regular files, directories and links are accepted", quote(name), tarTypeName(hdr.Typeflag))
		}
	}
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a FIFO (named pipe)"
	default:
		return fmt.Sprintf("an entry of unsupported type %q", t)
	}
}

func (c *collector) readZip(data []byte) error {
	// zip.NewReader parses the whole central directory up front; every
	// record starts with this signature, so counting it bounds that work
	// before it is done.
	if bytes.Count(data, []byte("PK\x01\x02")) > 16*c.maxEntries {
		return c.tooManyEntries()
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // we check paths ourselves
		return invalid("the archive is not a valid zip file (%v)", err)
	}
	if len(zr.File) > c.maxEntries {
		return c.tooManyEntries()
	}
	for _, f := range zr.File {
		if err := c.countEntry(); err != nil {
			return err
		}
		name := f.Name
		mode := f.Mode()
		isDir := mode.IsDir() || strings.HasSuffix(name, "/")
		p, skip, err := normalise(name, isDir)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if isDir {
			c.dir(p)
			continue
		}
		if f.Flags&0x1 != 0 {
			return invalid("%s is encrypted; encrypted zip archives are not supported", quote(name))
		}
		switch {
		case mode&fs.ModeSymlink != 0:
			target, err := c.readZipEntry(f, func(r io.Reader) ([]byte, error) {
				b, err := io.ReadAll(io.LimitReader(r, maxLinkTarget+1))
				if err == nil && len(b) > maxLinkTarget {
					return nil, invalid("%s is a symlink whose target is longer than %d bytes", quote(name), maxLinkTarget)
				}
				return b, err
			})
			if err != nil {
				return err
			}
			if err := c.symlink(name, p, string(target)); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := c.countFile(); err != nil {
				return err
			}
			hint := int64(min(f.UncompressedSize64, math.MaxInt64))
			content, err := c.readZipEntry(f, func(r io.Reader) ([]byte, error) { return c.readContent(name, r, hint) })
			if err != nil {
				return err
			}
			c.addFile(p, content, mode&0o100 != 0)
		default:
			return invalid("%s is %s; only regular files, directories and links are accepted", quote(name), zipTypeName(mode))
		}
	}
	return nil
}

// readZipEntry opens f and reads it with read, turning errors into messages.
func (c *collector) readZipEntry(f *zip.File, read func(io.Reader) ([]byte, error)) ([]byte, error) {
	name := f.Name
	rc, err := f.Open()
	if err == nil {
		defer rc.Close()
		var b []byte
		if b, err = read(rc); err == nil {
			return b, nil
		}
	}
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return nil, err
	case errors.Is(err, zip.ErrAlgorithm):
		return nil, invalid("%s uses an unsupported compression method (%d); use deflate or store", quote(name), f.Method)
	case errors.Is(err, zip.ErrChecksum):
		return nil, invalid("%s is corrupt (its checksum does not match)", quote(name))
	case errors.Is(err, zip.ErrFormat) && rc != nil:
		// The only ErrFormat while reading: more data than declared.
		return nil, invalid("%s inflates to more than the %d bytes its header declares; the archive is corrupt", quote(name), f.UncompressedSize64)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, invalid("%s is truncated or shorter than its header declares", quote(name))
	default:
		return nil, invalid("%s is corrupt (%v)", quote(name), err)
	}
}

func zipTypeName(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	default:
		return fmt.Sprintf("an entry of unsupported type (mode %v)", mode)
	}
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
