package source

import (
	"bytes"
	"strings"
	"testing"
)

// project is a small normal project; every intake path must give the same
// tree for it.
func project() []File {
	return []File{
		{Path: "package.json", Content: []byte(`{"name":"app","main":"src/index.js"}`)},
		{Path: "src/index.js", Content: []byte("console.log('hi')\n")},
		{Path: "src/lib/util.js", Content: []byte("module.exports = {}\n")},
		{Path: "bin/start.sh", Content: []byte("#!/bin/sh\nexec node src/index.js\n"), Executable: true},
		{Path: "README.md", Content: []byte("# app\n")},
		{Path: "empty.txt", Content: nil},
	}
}

func TestFromFilesAccepts(t *testing.T) {
	tree, err := FromFiles(project(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range tree.Files {
		paths = append(paths, f.Path)
	}
	want := "README.md bin/start.sh empty.txt package.json src/index.js src/lib/util.js"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("paths = %s, want %s (sorted)", got, want)
	}
	f, ok := tree.Lookup("bin/start.sh")
	if !ok || !f.Executable || !bytes.HasPrefix(f.Content, []byte("#!")) {
		t.Errorf("Lookup(bin/start.sh) = %+v, %v", f, ok)
	}
	if _, ok := tree.Lookup("src"); ok {
		t.Error("Lookup(src) found a directory")
	}
	if _, ok := tree.Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
	var size int64
	for _, f := range project() {
		size += int64(len(f.Content))
	}
	if tree.Size() != size {
		t.Errorf("Size = %d, want %d", tree.Size(), size)
	}
}

func TestFromFilesRejects(t *testing.T) {
	small := Limits{MaxFiles: 3, MaxFileBytes: 10, MaxTotalBytes: 15}
	f := func(p string) File { return File{Path: p, Content: []byte("x")} }
	sized := func(p string, n int) File { return File{Path: p, Content: make([]byte, n)} }
	tests := []struct {
		name  string
		files []File
		lim   Limits
		field string
		want  []string
	}{
		{"empty", nil, Limits{}, "files", []string{"the source has no files"}},
		{"too many files", []File{f("a"), f("b"), f("c"), f("d")}, small, "files", []string{"4 files", "limit is 3"}},
		{"absolute", []File{f("a"), f("/etc/passwd")}, Limits{}, "files[1].path", []string{`"/etc/passwd" is an absolute path`}},
		{"dotdot", []File{f("../x")}, Limits{}, "files[0].path", []string{`"../x"`, `".." segment`}},
		{"inner dotdot", []File{f("a/../../x")}, Limits{}, "files[0].path", []string{`".." segment`}},
		{"dot", []File{f("a/./b")}, Limits{}, "files[0].path", []string{`"." segment`}},
		{"leading dot", []File{f("./a")}, Limits{}, "files[0].path", []string{`"." segment`}},
		{"empty segment", []File{f("a//b")}, Limits{}, "files[0].path", []string{"empty segment"}},
		{"trailing slash", []File{f("a/")}, Limits{}, "files[0].path", []string{"empty segment"}},
		{"empty path", []File{f("")}, Limits{}, "files[0].path", []string{"empty path"}},
		{"backslash", []File{f(`a\b`)}, Limits{}, "files[0].path", []string{"backslash"}},
		{"nul", []File{f("a\x00b")}, Limits{}, "files[0].path", []string{"NUL"}},
		{"invalid utf8", []File{f("a\xffb")}, Limits{}, "files[0].path", []string{"UTF-8"}},
		{"path too long", []File{f(strings.Repeat("abcdefgh/", 114) + "x")}, Limits{}, "files[0].path", []string{"1027 bytes long", "limit for a path is 1024 bytes"}},
		{"name too long", []File{f(strings.Repeat("n", 256))}, Limits{}, "files[0].path", []string{"longer than 255 bytes"}},
		{"duplicate", []File{f("a"), f("b"), f("a")}, Limits{}, "files[2].path", []string{`"a" appears more than once`}},
		{"file then dir", []File{f("a"), f("a/b")}, Limits{}, "files[1].path", []string{`"a" is both a file and a directory`}},
		{"dir then file", []File{f("a/b/c"), f("a/b")}, Limits{}, "files[1].path", []string{`"a/b" is both a file and a directory`}},
		{"file too big", []File{f("a"), sized("big.bin", 11)}, small, "files[1].content", []string{`"big.bin" is 11 bytes`, "limit per file is 10 bytes"}},
		{"file too big MiB", []File{sized("big.bin", 10<<20+1)}, Limits{}, "files[0].content", []string{`"big.bin"`, "10485761 bytes", "limit per file is 10 MiB"}},
		{"total too big", []File{sized("a", 8), sized("b", 8)}, small, "files", []string{"add up to 16 bytes", "limit for a source is 15 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := FromFiles(tt.files, tt.lim)
			if tree != nil {
				t.Errorf("tree = %v, want nil", tree)
			}
			wantInvalid(t, err, tt.field, tt.want...)
		})
	}
}

func TestFromFilesDoesNotModifyInput(t *testing.T) {
	files := []File{{Path: "b"}, {Path: "a"}}
	if _, err := FromFiles(files, Limits{}); err != nil {
		t.Fatal(err)
	}
	if files[0].Path != "b" {
		t.Error("FromFiles sorted the caller's slice")
	}
}

func TestDigest(t *testing.T) {
	digest := func(files ...File) string {
		t.Helper()
		tree, err := FromFiles(files, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return tree.Digest()
	}
	base := digest(project()...)
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("Digest = %q", base)
	}
	reversed := project()
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	if got := digest(reversed...); got != base {
		t.Errorf("digest depends on input order: %s != %s", got, base)
	}
	// A hand-built, unsorted tree has the same digest too.
	if got := (&Tree{Files: reversed}).Digest(); got != base {
		t.Errorf("unsorted Tree digest %s != %s", got, base)
	}

	changed := map[string]func([]File){
		"executable bit": func(fs []File) { fs[0].Executable = true },
		"content":        func(fs []File) { fs[1].Content = []byte("console.log('bye')\n") },
		"path":           func(fs []File) { fs[4].Path = "README.txt" },
		"extra file":     func(fs []File) { fs[5].Path = "empty2.txt" },
	}
	for name, change := range changed {
		t.Run(name, func(t *testing.T) {
			files := project()
			change(files)
			if digest(files...) == base {
				t.Errorf("changing the %s kept the digest", name)
			}
		})
	}
	// Path/content boundaries are unambiguous.
	a := digest(File{Path: "a", Content: []byte("bc")})
	b := digest(File{Path: "ab", Content: []byte("c")})
	if a == b {
		t.Error(`{"a": "bc"} and {"ab": "c"} have the same digest`)
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "0 bytes",
		1:             "1 byte",
		1023:          "1023 bytes",
		1024:          "1 KiB",
		1536:          "1.5 KiB (1536 bytes)",
		10 << 20:      "10 MiB",
		50<<20 + 1:    "50 MiB (52428801 bytes)",
		3<<20 + 1<<19: "3.5 MiB (3670016 bytes)",
	} {
		if got := sizeString(n); got != want {
			t.Errorf("sizeString(%d) = %q, want %q", n, got, want)
		}
	}
}
