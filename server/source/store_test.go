package source

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/errs"
)

func projectTree(t *testing.T) *Tree {
	t.Helper()
	tree, err := FromFiles(project(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func sameTree(t *testing.T, got, want *Tree) {
	t.Helper()
	if len(got.Files) != len(want.Files) {
		t.Fatalf("%d files, want %d", len(got.Files), len(want.Files))
	}
	for i, w := range want.Files {
		g := got.Files[i]
		if g.Path != w.Path || g.Executable != w.Executable || !bytes.Equal(g.Content, w.Content) {
			t.Errorf("file %d = {%q %v %q}, want {%q %v %q}", i, g.Path, g.Executable, g.Content, w.Path, w.Executable, w.Content)
		}
	}
}

// storedFiles lists the regular files under dir, relative to it.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sources")
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree := projectTree(t)
	digest, err := s.Put(tree)
	if err != nil {
		t.Fatal(err)
	}
	if digest != tree.Digest() {
		t.Errorf("Put = %s, want the tree's digest %s", digest, tree.Digest())
	}
	hex := strings.TrimPrefix(digest, "sha256:")
	if files := storedFiles(t, dir); len(files) != 1 || files[0] != hex[:2]+"/"+hex[2:] {
		t.Errorf("store holds %v, want [%s/%s]", files, hex[:2], hex[2:])
	}

	got, err := s.Get(digest)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, got, tree)

	// Idempotent, also through another Store on the same directory.
	s2, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s2.Put(projectTree(t))
	if err != nil || again != digest {
		t.Errorf("second Put = %s, %v; want %s", again, err, digest)
	}
	if files := storedFiles(t, dir); len(files) != 1 {
		t.Errorf("after a second Put the store holds %v", files)
	}

	// Delete, then Get says not found; deleting again is fine.
	if err := s.Delete(digest); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(digest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after Delete: %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(digest); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestStoreGetMissing(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("sha256:" + strings.Repeat("0", 64))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestStoreRejectsBadDigests(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{
		"",
		"../../etc",
		"sha256:xyz",
		"sha256:../../etc/passwd",
		"sha256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("0", 63),
		"sha256:" + strings.Repeat("0", 65),
		"sha256:" + strings.Repeat("0", 62) + "/x",
		"sha512:" + strings.Repeat("0", 64),
		strings.Repeat("0", 64),
	} {
		t.Run(d, func(t *testing.T) {
			if _, err := s.Get(d); !errs.Is(err, errs.KindInvalidArgument) {
				t.Errorf("Get: %v, want InvalidArgument", err)
			}
			if err := s.Delete(d); !errs.Is(err, errs.KindInvalidArgument) {
				t.Errorf("Delete: %v, want InvalidArgument", err)
			}
		})
	}
}

func TestStoreDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := s.Put(projectTree(t))
	if err != nil {
		t.Fatal(err)
	}
	hex := strings.TrimPrefix(digest, "sha256:")
	name := filepath.Join(dir, hex[:2], hex[2:])
	good, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	other := projectTree(t)
	other.Files[0].Content = []byte("# changed\n")
	var otherData bytes.Buffer
	if err := encode(&otherData, other); err != nil {
		t.Fatal(err)
	}

	tests := map[string][]byte{
		"garbage":           []byte("not a gzip file"),
		"truncated":         good[:len(good)/2],
		"empty":             nil,
		"flipped byte":      func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 0xff; return b }(),
		"another tree":      otherData.Bytes(),
		"not a stored tree": makeTarGz(t, symlink("a", "/etc/passwd")),
	}
	for name2, data := range tests {
		t.Run(name2, func(t *testing.T) {
			if err := os.WriteFile(name, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(digest); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Get: %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestStoreConcurrentPut(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree := projectTree(t)
	const n = 8
	digests := make([]string, n)
	errors := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			digests[i], errors[i] = s.Put(tree)
		})
	}
	wg.Wait()
	for i := range n {
		if errors[i] != nil || digests[i] != tree.Digest() {
			t.Errorf("Put %d = %s, %v", i, digests[i], errors[i])
		}
	}
	if files := storedFiles(t, dir); len(files) != 1 {
		t.Errorf("store holds %v, want one file and no temporary files", files)
	}
	got, err := s.Get(tree.Digest())
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, got, tree)
}

func TestStorePutRejectsInvalidTrees(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, tree := range map[string]*Tree{
		"nil":       nil,
		"empty":     {},
		"traversal": {Files: []File{{Path: "../x"}}},
		"unsorted":  {Files: []File{{Path: "b"}, {Path: "a"}}},
		"duplicate": {Files: []File{{Path: "a"}, {Path: "a"}}},
		"clash":     {Files: []File{{Path: "a"}, {Path: "a/b"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Put(tree); err == nil {
				t.Error("Put accepted an invalid tree")
			}
		})
	}
}

func TestNewStoreRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "ab"), 0o700))
	stale := filepath.Join(dir, "ab", tempPrefix+"1")
	fresh := filepath.Join(dir, "ab", tempPrefix+"2")
	must(t, os.WriteFile(stale, []byte("half"), 0o600))
	must(t, os.WriteFile(fresh, []byte("in progress"), 0o600))
	old := time.Now().Add(-2 * staleTemp)
	must(t, os.Chtimes(stale, old, old))
	if _, err := NewStore(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
}

// TestStoreDigests lists what Put stored and nothing else: not temporary
// files, not stray names, not a source removed by Delete.
func TestStoreDigests(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Digests(); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	a, err := s.Put(projectTree(t))
	if err != nil {
		t.Fatal(err)
	}
	other, err := FromFiles([]File{{Path: "index.js", Content: []byte("console.log(1)\n")}}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(other)
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, strings.TrimPrefix(a, digestPrefix)[:2])
	must(t, os.WriteFile(filepath.Join(sub, tempPrefix+"9"), []byte("half"), 0o600))
	must(t, os.WriteFile(filepath.Join(sub, "not-a-digest"), []byte("x"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o600))

	got, err := s.Digests()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{a, b}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("Digests = %v, want %v", got, want)
	}
	must(t, s.Delete(a))
	if got, _ := s.Digests(); !slices.Equal(got, []string{b}) {
		t.Errorf("after Delete, Digests = %v, want [%s]", got, b)
	}
}
