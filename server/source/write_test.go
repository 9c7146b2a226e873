package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteTo(t *testing.T) {
	tree := projectTree(t)
	dir := filepath.Join(t.TempDir(), "app") // created by WriteTo
	if err := WriteTo(tree, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range tree.Files {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		fi, err := os.Lstat(name)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if f.Executable {
			want = 0o755
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want a regular file %v", f.Path, fi.Mode(), want)
		}
		if data, _ := os.ReadFile(name); string(data) != string(f.Content) {
			t.Errorf("%s = %q, want %q", f.Path, data, f.Content)
		}
	}
	for _, d := range []string{"src", "src/lib", "bin"} {
		if fi, err := os.Lstat(filepath.Join(dir, d)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v; want a 0755 directory", d, fi, err)
		}
	}

	// Writing again over the same files works and replaces them.
	changed := projectTree(t)
	changed.Files[0].Content = []byte("# changed\n")
	if err := WriteTo(changed, dir); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, changed.Files[0].Path)); string(data) != "# changed\n" {
		t.Errorf("rewritten %s = %q", changed.Files[0].Path, data)
	}
}

func TestWriteToRefusesSymlinks(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, outside string)
		want    string
	}{
		{"symlinked directory", func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(outside, filepath.Join(dir, "src")))
		}, `refusing to follow the symlink "src"`},
		{"symlinked nested directory", func(t *testing.T, dir, outside string) {
			must(t, os.Mkdir(filepath.Join(dir, "src"), 0o755))
			must(t, os.Symlink(outside, filepath.Join(dir, "src", "lib")))
		}, `refusing to follow the symlink "src/lib"`},
		{"symlinked directory inside dir", func(t *testing.T, dir, outside string) {
			must(t, os.Mkdir(filepath.Join(dir, "elsewhere"), 0o755))
			must(t, os.Symlink("elsewhere", filepath.Join(dir, "bin")))
		}, `refusing to follow the symlink "bin"`},
		{"symlinked file", func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dir, "package.json")))
		}, `refusing to follow the symlink "package.json"`},
		{"dangling symlinked file", func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(filepath.Join(outside, "new"), filepath.Join(dir, "README.md")))
		}, `refusing to follow the symlink "README.md"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			victim := filepath.Join(outside, "victim")
			must(t, os.WriteFile(victim, []byte("precious"), 0o644))
			tt.prepare(t, dir, outside)
			err := WriteTo(projectTree(t), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			entries, _ := os.ReadDir(outside)
			if data, _ := os.ReadFile(victim); len(entries) != 1 || string(data) != "precious" {
				t.Errorf("WriteTo wrote outside dir: %d entries, victim = %q", len(entries), data)
			}
			if _, err := os.Stat(filepath.Join(dir, "elsewhere", "start.sh")); err == nil {
				t.Error("WriteTo wrote through an in-dir symlink")
			}
		})
	}
}

func TestWriteToBreaksHardLinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim")
	must(t, os.WriteFile(victim, []byte("precious"), 0o644))
	if err := os.Link(victim, filepath.Join(dir, "README.md")); err != nil {
		t.Skipf("cannot make a hard link here: %v", err)
	}
	if err := WriteTo(projectTree(t), dir); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious" {
		t.Errorf("WriteTo wrote through a hard link: victim = %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "README.md")); string(data) != "# app\n" {
		t.Errorf("README.md = %q", data)
	}
}

func TestWriteToRejectsInvalidTrees(t *testing.T) {
	dir := t.TempDir()
	for name, tree := range map[string]*Tree{
		"traversal": {Files: []File{{Path: "../escaped", Content: []byte("x")}}},
		"absolute":  {Files: []File{{Path: "/tmp/escaped", Content: []byte("x")}}},
		"empty":     {},
	} {
		t.Run(name, func(t *testing.T) {
			if err := WriteTo(tree, dir); err == nil {
				t.Error("WriteTo accepted an invalid tree")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("dir holds %d entries after rejected writes", len(entries))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); err == nil {
		t.Error("a file escaped dir")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
