package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// writeTree makes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// archived lists the file names in a gzipped tar.
func archived(t *testing.T, archive []byte) []string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
	sort.Strings(names)
	return names
}

// TestPackIgnores: .gitignore and .coderunnerignore are read as git reads
// ignore files (root and nested, negation, directory patterns), and
// node_modules/, .git/ and the CLI's state file never leave the machine,
// whatever the ignore files say.
func TestPackIgnores(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"index.js":                "",
		"package.json":            "{}",
		".gitignore":              "*.log\n!keep.log\n/build/\n# a comment\n\n",
		".coderunnerignore":       "secrets.txt\ndocs/\n!node_modules/\n",
		"app.log":                 "",
		"keep.log":                "",
		"secrets.txt":             "",
		"build/out.js":            "",
		"lib/build/kept.js":       "",
		"lib/util.js":             "",
		"lib/.gitignore":          "generated.js\n",
		"lib/generated.js":        "",
		"generated.js":            "",
		"docs/readme.md":          "",
		"node_modules/x/index.js": "",
		"lib/node_modules/y.js":   "",
		".git/HEAD":               "",
		stateFile:                 "{}",
	})
	archive, files, err := pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := archived(t, archive)
	want := []string{".coderunnerignore", ".gitignore", "generated.js", "index.js", "keep.log", "lib/.gitignore", "lib/build/kept.js", "lib/util.js", "package.json"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("packed\n  %v\nwant\n  %v", got, want)
	}
	if files != len(got) {
		t.Errorf("pack counted %d files, the archive holds %d", files, len(got))
	}
}

// TestPackSkipsSymlinks: a symlink is neither followed nor sent, so a link
// to a file outside the folder cannot carry it to the server.
func TestPackSkipsSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "private")
	writeTree(t, dir, map[string]string{"index.js": ""})
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	archive, _, err := pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := archived(t, archive); strings.Join(got, " ") != "index.js" {
		t.Errorf("packed %v, want only index.js", got)
	}
}
