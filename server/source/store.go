package source

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/errs"
)

// ErrCorrupt is wrapped by the error Get returns when a stored source cannot
// be read back or does not match its digest.
var ErrCorrupt = errors.New("stored source is corrupt")

const (
	digestPrefix = "sha256:"
	// maxStoredBytes caps what Get decompresses from one stored file, far
	// above any source limit, so a damaged file cannot exhaust memory.
	maxStoredBytes = 1 << 30
	// tempPrefix names Put's temporary files; NewStore removes old ones a
	// crash left behind.
	tempPrefix = ".tmp-"
	staleTemp  = time.Hour
)

// Store keeps trees durably, content-addressed, under a directory: one
// gzip'd tar per digest at <dir>/<first 2 hex digits>/<other 62 hex digits>.
// Its methods are safe for concurrent use, also by several Stores on the
// same directory.
type Store struct {
	dir string
}

// NewStore opens (creating it if missing) the store in dir and removes
// temporary files older than an hour that an interrupted Put left behind.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("source store: %w", err)
	}
	s := &Store{dir: dir}
	if temps, err := filepath.Glob(filepath.Join(dir, "*", tempPrefix+"*")); err == nil {
		for _, name := range temps {
			if fi, err := os.Lstat(name); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
				_ = os.Remove(name)
			}
		}
	}
	return s, nil
}

// file returns the path of digest's file, or an error if digest is not
// "sha256:" followed by 64 lowercase hex digits (so it can never name
// anything outside the store).
func (s *Store) file(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, digestPrefix)
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", errs.New(errs.KindInvalidArgument, "%s is not a source digest (sha256: followed by 64 lowercase hex digits)", quote(digest))
	}
	return filepath.Join(s.dir, h[:2], h[2:]), nil
}

// Put stores t and returns its digest. It is idempotent: storing a tree
// already there does nothing (so a stored file damaged on disk is not
// repaired: Get reports it, and Delete then Put replaces it). The file is
// written to a temporary name, fsynced and renamed into place, so a crash
// never leaves a partial source under a digest, and concurrent Puts of the
// same tree are safe.
func (s *Store) Put(t *Tree) (digest string, err error) {
	if err := t.check(); err != nil {
		return "", err
	}
	digest = t.Digest()
	final, err := s.file(digest)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(final); err == nil {
		return digest, nil
	}
	sub := filepath.Dir(final)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return "", fmt.Errorf("source store: %w", err)
	}
	tmp, err := os.CreateTemp(sub, tempPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("source store: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err = encode(bw, t); err != nil {
		return "", fmt.Errorf("source store: write %s: %w", digest, err)
	}
	if err = bw.Flush(); err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err == nil {
		err = syncDir(sub)
	}
	if err == nil {
		err = syncDir(s.dir) // sub may be new
	}
	if err != nil {
		return "", fmt.Errorf("source store: write %s: %w", digest, err)
	}
	return digest, nil
}

// Get reads back the tree stored under digest and verifies that its content
// still has that digest (errors wrap ErrCorrupt if not). A digest that is not
// stored gives an error wrapping fs.ErrNotExist; a malformed digest is
// errs.KindInvalidArgument.
func (s *Store) Get(digest string) (*Tree, error) {
	name, err := s.file(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", digest, err)
	}
	defer func() { _ = f.Close() }()
	t, err := decode(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w: %v", digest, ErrCorrupt, err)
	}
	if got := t.Digest(); got != digest {
		return nil, fmt.Errorf("source %s: %w: its content has digest %s", digest, ErrCorrupt, got)
	}
	return t, nil
}

// Delete removes the source stored under digest. Deleting a source that is
// not stored is not an error. The caller decides that nothing references
// the source any more, including a Put of the same tree in progress (Put
// returns early when the file exists).
func (s *Store) Delete(digest string) error {
	name, err := s.file(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("source store: %w", err)
	}
	return nil
}

// Digests returns the digests of the sources stored, in no set order.
// Temporary files of Puts in progress and anything else that is not a
// stored source are left out.
func (s *Store) Digests() ([]string, error) {
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("source store: %w", err)
	}
	var digests []string
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return nil, fmt.Errorf("source store: %w", err)
		}
		for _, f := range files {
			digest := digestPrefix + sub.Name() + f.Name()
			if name, err := s.file(digest); err == nil && f.Type().IsRegular() && filepath.Base(name) == f.Name() {
				digests = append(digests, digest)
			}
		}
	}
	return digests, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// encode writes t as a deterministic gzip'd tar.
func encode(w io.Writer, t *Tree) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range t.Files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Path,
			Size:     int64(len(f.Content)),
			Mode:     fileMode(f),
			ModTime:  time.Unix(0, 0),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// decode reads a tree written by encode, strictly: regular files only, valid
// paths, no duplicates, bounded by maxStoredBytes.
func decode(r io.Reader) (*Tree, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(&budgetReader{r: gz, left: maxStoredBytes})
	b := newBuilder(0)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("unexpected entry %s of type %q", quote(hdr.Name), hdr.Typeflag)
		}
		if msg := checkPath(hdr.Name); msg != "" {
			return nil, errors.New(msg)
		}
		if total += hdr.Size; total > maxStoredBytes {
			return nil, fmt.Errorf("more than %s of content", sizeString(maxStoredBytes))
		}
		content := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, content); err != nil {
			return nil, err
		}
		if msg := b.addFile(File{Path: hdr.Name, Content: content, Executable: hdr.Mode&0o100 != 0}); msg != "" {
			return nil, errors.New(msg)
		}
	}
	return b.tree(), nil
}

func fileMode(f File) int64 {
	if f.Executable {
		return 0o755
	}
	return 0o644
}
