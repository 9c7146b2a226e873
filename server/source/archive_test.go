package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"io/fs"
	"runtime"
	"strings"
	"testing"
)

// projectEntries returns the tar entries of project() under prefix.
func projectEntries(prefix string) []tent {
	var entries []tent
	if prefix != "" {
		entries = append(entries, dir(prefix))
	}
	entries = append(entries, dir(prefix+"src/"), dir(prefix+"src/lib/"), dir(prefix+"bin/"))
	for _, f := range project() {
		e := reg(prefix+f.Path, string(f.Content))
		if f.Executable {
			e.mode = 0o755
		}
		entries = append(entries, e)
	}
	return entries
}

func projectZip(prefix string) []zent {
	entries := []zent{{name: prefix + "src/"}, {name: prefix + "bin/"}}
	for _, f := range project() {
		e := zent{name: prefix + f.Path, body: string(f.Content)}
		if f.Executable {
			e.mode = 0o755
		}
		entries = append(entries, e)
	}
	return entries
}

func TestFromArchiveSameDigestEverywhere(t *testing.T) {
	want, err := FromFiles(project(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	archives := map[string][]byte{
		"tar.gz":                 makeTarGz(t, projectEntries("")...),
		"tar.gz with ./":         makeTarGz(t, append([]tent{dir("./")}, projectEntries("./")...)...),
		"tar.gz with top dir":    makeTarGz(t, projectEntries("app-1.0/")...),
		"tar.gz with pax global": makeTarGz(t, append([]tent{{typ: tar.TypeXGlobalHeader, body: "0123456789abcdef"}}, projectEntries("repo-main/")...)...),
		"plain tar":              makeTar(t, projectEntries("")...),
		"zip":                    makeZip(t, projectZip("")...),
		"zip github style":       makeZip(t, append([]zent{{name: "repo-main/"}}, projectZip("repo-main/")...)...),
		"zip with __MACOSX":      makeZip(t, append(projectZip("app/"), zent{name: "__MACOSX/app/._README.md", body: "junk"})...),
		"zip without dir entries": makeZip(t, func() []zent {
			var es []zent
			for _, e := range projectZip("") {
				if !strings.HasSuffix(e.name, "/") {
					es = append(es, e)
				}
			}
			return es
		}()...),
	}
	for name, data := range archives {
		t.Run(name, func(t *testing.T) {
			tree, err := FromArchive(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tree.Digest(); got != want.Digest() {
				t.Errorf("digest = %s, want %s", got, want.Digest())
				for _, f := range tree.Files {
					t.Logf("%s exec=%v %q", f.Path, f.Executable, f.Content)
				}
			}
			if f, ok := tree.Lookup("bin/start.sh"); !ok || !f.Executable {
				t.Errorf("bin/start.sh = %+v, %v; want executable", f, ok)
			}
			if f, ok := tree.Lookup("README.md"); !ok || f.Executable {
				t.Errorf("README.md = %+v, %v; want not executable", f, ok)
			}
		})
	}
}

func TestFromArchiveTopLevelDir(t *testing.T) {
	tests := []struct {
		name    string
		entries []tent
		want    string // paths, space-separated
	}{
		{"stripped", []tent{reg("repo/a", "1"), reg("repo/b/c", "2")}, "a b/c"},
		{"stripped with dir entry", []tent{dir("repo/"), reg("repo/a", "1")}, "a"},
		{"only one level stripped", []tent{reg("repo/src/a", "1"), reg("repo/src/b", "2")}, "src/a src/b"},
		{"two top-level dirs", []tent{reg("x/a", "1"), reg("y/b", "2")}, "x/a y/b"},
		{"top-level file", []tent{reg("a", "1"), reg("repo/b", "2")}, "a repo/b"},
		{"single top-level file", []tent{reg("a", "1")}, "a"},
		{"top-level dir entry elsewhere", []tent{dir("other/"), reg("repo/a", "1")}, "repo/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := FromArchive(makeTarGz(t, tt.entries...), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range tree.Files {
				paths = append(paths, f.Path)
			}
			if got := strings.Join(paths, " "); got != tt.want {
				t.Errorf("paths = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFromArchiveLinksBecomeCopies(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"tar", makeTarGz(t,
			exe("repo/bin/real", "#!/bin/sh\n"),
			reg("repo/docs/guide.md", "guide"),
			hardlink("repo/bin/hard", "repo/bin/real"),
			symlink("repo/bin/tool", "real"),
			symlink("repo/README.md", "docs/guide.md"),
			symlink("repo/docs/chain.md", "../README.md"), // -> README.md -> docs/guide.md
		)},
		{"zip", makeZip(t,
			zent{name: "bin/real", body: "#!/bin/sh\n", mode: 0o755},
			zent{name: "docs/guide.md", body: "guide"},
			zent{name: "bin/hard", body: "#!/bin/sh\n", mode: 0o755},
			zent{name: "bin/tool", body: "real", mode: fs.ModeSymlink | 0o777},
			zent{name: "README.md", body: "docs/guide.md", mode: fs.ModeSymlink | 0o777},
			zent{name: "docs/chain.md", body: "../README.md", mode: fs.ModeSymlink | 0o777},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := FromArchive(tt.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]string{"bin/hard": "#!/bin/sh\n", "bin/tool": "#!/bin/sh\n", "README.md": "guide", "docs/chain.md": "guide"} {
				f, ok := tree.Lookup(path)
				if !ok || string(f.Content) != want {
					t.Errorf("%s = %q, %v; want a copy %q", path, f.Content, ok, want)
				}
			}
			if f, _ := tree.Lookup("bin/tool"); !f.Executable {
				t.Error("bin/tool, a symlink to an executable, is not executable")
			}
			if len(tree.Files) != 6 {
				t.Errorf("%d files, want 6", len(tree.Files))
			}
		})
	}
}

func TestFromArchiveRejects(t *testing.T) {
	small := Limits{MaxFiles: 3, MaxFileBytes: 10, MaxTotalBytes: 20}
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want []string
	}{
		// Paths.
		{"absolute", makeTarGz(t, reg("/etc/passwd", "x")), Limits{}, []string{`"/etc/passwd" is an absolute path`}},
		{"dotdot", makeTarGz(t, reg("../evil", "x")), Limits{}, []string{`"../evil"`, `".." segment`}},
		{"dotdot inside", makeTarGz(t, reg("a/../../evil", "x")), Limits{}, []string{`".." segment`}},
		{"zip dotdot", makeZip(t, zent{name: "../../evil", body: "x"}), Limits{}, []string{`".." segment`}},
		{"zip absolute", makeZip(t, zent{name: "/abs", body: "x"}), Limits{}, []string{"absolute path"}},
		{"zip backslash", makeZip(t, zent{name: `..\evil`, body: "x"}), Limits{}, []string{"backslash"}},
		{"empty segment", makeTarGz(t, reg("a//b", "x")), Limits{}, []string{"empty segment"}},
		{"invalid utf8", makeZip(t, zent{name: "a\xff", body: "x"}), Limits{}, []string{"UTF-8"}},
		{"path too long after stripping", makeTarGz(t, reg("top/"+strings.Repeat("d/", 512)+"x", "x")), Limits{}, []string{"1025 bytes long", "1024 bytes"}},
		{"path far too long", makeTarGz(t, reg(strings.Repeat("d/", 1000)+"x", "x")), Limits{}, []string{"2001 bytes long", "1024 bytes"}},
		{"name too long", makeTarGz(t, reg(strings.Repeat("n", 300), "x")), Limits{}, []string{"longer than 255 bytes"}},
		{"duplicate", makeTarGz(t, reg("a.txt", "1"), reg("a.txt", "2")), Limits{}, []string{`"a.txt" appears more than once`}},
		{"duplicate via ./", makeTarGz(t, reg("./a.txt", "1"), reg("a.txt", "2")), Limits{}, []string{`"a.txt" appears more than once`}},
		{"zip duplicate", makeZip(t, zent{name: "a", body: "1"}, zent{name: "a", body: "2"}), Limits{}, []string{`"a" appears more than once`}},
		{"file then dir", makeTarGz(t, reg("a", "1"), reg("a/b", "2")), Limits{}, []string{`"a" is both a file and a directory`}},
		{"dir entry then file", makeTarGz(t, dir("a/"), reg("a", "1")), Limits{}, []string{`"a" is both a file and a directory`}},
		{"file then dir entry", makeZip(t, zent{name: "a", body: "1"}, zent{name: "a/"}), Limits{}, []string{`"a" is both a file and a directory`}},

		// Entry types.
		{"symlink escaping", makeTarGz(t, reg("main.go", "x"), symlink("bin/tool", "../../etc/passwd")), Limits{}, []string{`"bin/tool" is a symlink pointing outside the project ("../../etc/passwd")`}},
		{"symlink absolute", makeTarGz(t, reg("main.go", "x"), symlink("bin/tool", "/etc/passwd")), Limits{}, []string{`"bin/tool" is a symlink pointing outside the project ("/etc/passwd")`}},
		{"symlink escaping the stripped top dir", makeTarGz(t, reg("repo/main.go", "x"), symlink("repo/link", "../repo/main.go")), Limits{}, []string{`"link" is a symlink pointing outside the project ("../repo/main.go")`}},
		{"zip symlink escaping", makeZip(t, zent{name: "a", body: "x"}, zent{name: "evil", body: "../x", mode: fs.ModeSymlink | 0o777}), Limits{}, []string{`"evil" is a symlink pointing outside the project ("../x")`}},
		{"symlink to directory", makeTarGz(t, reg("lib/a.js", "x"), symlink("l", "lib")), Limits{}, []string{`"l" is a symlink to a directory ("lib")`}},
		{"symlink to project root", makeTarGz(t, reg("a", "x"), symlink("d/root", "..")), Limits{}, []string{"symlink to a directory"}},
		{"dangling symlink", makeTarGz(t, reg("a", "x"), symlink("l", "missing")), Limits{}, []string{`"l" is a symlink to "missing", which is not a file in the project`}},
		{"symlink loop", makeTarGz(t, reg("a", "x"), symlink("l1", "l2"), symlink("l2", "l1")), Limits{}, []string{"loop"}},
		{"hard link escaping", makeTarGz(t, reg("a", "x"), hardlink("b", "../../etc/passwd")), Limits{}, []string{`"b" is a hard link to "../../etc/passwd", outside the project`}},
		{"hard link absolute", makeTarGz(t, reg("a", "x"), hardlink("b", "/etc/passwd")), Limits{}, []string{`"b" is a hard link to "/etc/passwd", outside the project`}},
		{"hard link to a later file", makeTarGz(t, hardlink("b", "a"), reg("a", "x")), Limits{}, []string{`"b" is a hard link to "a", which is not a regular file earlier in the archive`}},
		{"hard link to a directory", makeTarGz(t, dir("d/"), reg("d/a", "x"), hardlink("b", "d")), Limits{}, []string{"not a regular file earlier"}},
		{"character device", makeTarGz(t, reg("a", "x"), tent{name: "dev/null", typ: tar.TypeChar}), Limits{}, []string{`"dev/null" is a character device`}},
		{"block device", makeTarGz(t, tent{name: "sda", typ: tar.TypeBlock}), Limits{}, []string{`"sda" is a block device`}},
		{"fifo", makeTarGz(t, tent{name: "pipe", typ: tar.TypeFifo}), Limits{}, []string{`"pipe" is a FIFO`}},
		{"unknown tar type", makeTarGz(t, tent{name: "vol", typ: 'V'}), Limits{}, []string{`"vol" is an entry of unsupported type`}},
		{"zip fifo", makeZip(t, zent{name: "pipe", mode: fs.ModeNamedPipe | 0o644}), Limits{}, []string{`"pipe" is a FIFO`}},
		{"zip socket", makeZip(t, zent{name: "sock", mode: fs.ModeSocket | 0o644}), Limits{}, []string{`"sock" is a socket`}},
		{"zip device", makeZip(t, zent{name: "tty", mode: fs.ModeDevice | fs.ModeCharDevice | 0o644}), Limits{}, []string{`"tty" is a character device`}},
		{"zip encrypted", makeZip(t, zent{name: "secret.txt", body: "x", flags: 0x1}), Limits{}, []string{`"secret.txt" is encrypted`}},

		// Limits.
		{"too many files", makeTarGz(t, reg("a", "1"), reg("b", "2"), reg("c", "3"), reg("d", "4")), small, []string{"more files than the limit of 3"}},
		{"too many files with links", makeTarGz(t, reg("a", "1"), hardlink("b", "a"), symlink("c", "a"), symlink("d", "a")), small, []string{"more files than the limit of 3"}},
		{"zip too many files", makeZip(t, zent{name: "a"}, zent{name: "b"}, zent{name: "c"}, zent{name: "d"}), small, []string{"more files than the limit of 3"}},
		{"too many entries", makeTarGz(t, dir("a/"), dir("b/"), dir("c/"), dir("d/"), dir("e/"), reg("f", "x")), Limits{MaxFiles: 1}, []string{"more entries", "limit of 4"}},
		{"zip too many entries", makeZip(t, zent{name: "a/"}, zent{name: "b/"}, zent{name: "c/"}, zent{name: "d/"}, zent{name: "e/"}), Limits{MaxFiles: 1}, []string{"more entries", "limit of 4"}},
		{"file too big", makeTarGz(t, reg("big.bin", strings.Repeat("x", 11))), small, []string{`"big.bin" is larger than the 10 bytes limit per file`}},
		{"zip file too big", makeZip(t, zent{name: "big.bin", body: strings.Repeat("x", 11)}), small, []string{`"big.bin" is larger than the 10 bytes limit per file`}},
		{"total too big", makeTarGz(t, reg("a", strings.Repeat("x", 8)), reg("b", strings.Repeat("x", 8)), reg("c", strings.Repeat("x", 8))), small, []string{"add up to more than the 20 bytes limit"}},
		{"total too big with hard link", makeTarGz(t, reg("a", strings.Repeat("x", 8)), reg("b", strings.Repeat("x", 8)), hardlink("c", "a")), small, []string{"add up to more than the 20 bytes limit"}},
		{"total too big with symlink", makeTarGz(t, reg("a", strings.Repeat("x", 8)), reg("b", strings.Repeat("x", 8)), symlink("c", "a")), small, []string{"add up to more than the 20 bytes limit", "symlink"}},

		// Formats and corruption.
		{"unknown format", []byte("hello, this is not an archive"), Limits{}, []string{"not in a recognised format", ".tar.gz", ".zip"}},
		{"bzip2", []byte("BZh91AY&SY"), Limits{}, []string{"bzip2", "accepted formats"}},
		{"empty data", nil, Limits{}, []string{"the archive is empty"}},
		{"empty tar.gz", makeTarGz(t), Limits{}, []string{"the source has no files"}},
		{"only directories", makeTarGz(t, dir("a/"), dir("a/b/")), Limits{}, []string{"the source has no files"}},
		{"empty zip", makeZip(t), Limits{}, []string{"the source has no files"}},
		{"only __MACOSX", makeZip(t, zent{name: "__MACOSX/._a", body: "x"}), Limits{}, []string{"the source has no files"}},
		{"gzip of a non-tar", gzipBytes(t, bytes.Repeat([]byte("not a tar "), 100)), Limits{}, []string{"not a tar archive"}},
		{"truncated tar.gz", func() []byte {
			d := makeTarGz(t, reg("a", strings.Repeat("abcdefgh", 1000)))
			return d[:len(d)/2]
		}(), Limits{}, []string{"truncated"}},
		{"truncated zip", func() []byte {
			d := makeZip(t, zent{name: "a", body: "x"})
			return d[:len(d)-10]
		}(), Limits{}, []string{"not a valid zip file"}},
		{"zip bad checksum", makeZipRaw(t, &zip.FileHeader{Name: "a", Method: zip.Store, CRC32: 12345, CompressedSize64: 5, UncompressedSize64: 5}, []byte("hello")), Limits{}, []string{`"a" is corrupt`, "checksum"}},
		{"zip unknown method", makeZipRaw(t, &zip.FileHeader{Name: "a", Method: 99, CompressedSize64: 5, UncompressedSize64: 5}, []byte("hello")), Limits{}, []string{`"a" uses an unsupported compression method (99)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := FromArchive(tt.data, tt.lim)
			if tree != nil {
				t.Errorf("tree = %v, want nil", tree)
			}
			wantInvalid(t, err, "archive", tt.want...)
		})
	}
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestFromArchiveBombs(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name     string
		data     []byte
		lim      Limits
		want     []string
		maxAlloc uint64
	}{
		{
			// 60 MiB of zeros in one entry, a ~60 KiB archive: stops at
			// the 10 MiB per-file limit.
			name: "gzip bomb, one file", data: gzipBomb(t, []string{"zeros.bin"}, 60),
			want:     []string{`"zeros.bin" is larger than the 10 MiB limit per file`},
			maxAlloc: 16 * mib,
		},
		{
			// 15 files of 4 MiB: stops once 8 MiB were read.
			name: "gzip bomb, many files", data: gzipBomb(t, strings.Fields("a b c d e f g h i j k l m n o"), 4),
			lim:      Limits{MaxTotalBytes: 8 * mib, MaxFileBytes: 4 * mib},
			want:     []string{"add up to more than the 8 MiB limit"},
			maxAlloc: 16 * mib,
		},
		{
			// The header claims 10 bytes; the data inflates to 100 MiB.
			name:     "zip entry lying about its size",
			data:     makeZipRaw(t, &zip.FileHeader{Name: "liar.txt", Method: zip.Deflate, UncompressedSize64: 10, CompressedSize64: uint64(len(deflatedZeros(100)))}, deflatedZeros(100)),
			want:     []string{`"liar.txt" inflates to more than the 10 bytes its header declares`},
			maxAlloc: 2 * mib,
		},
		{
			// An honest header for 100 MiB of zeros.
			name:     "zip bomb",
			data:     makeZipRaw(t, &zip.FileHeader{Name: "zeros.bin", Method: zip.Deflate, UncompressedSize64: 100 * mib, CompressedSize64: uint64(len(deflatedZeros(100)))}, deflatedZeros(100)),
			want:     []string{`"zeros.bin" is larger than the 10 MiB limit per file`},
			maxAlloc: 16 * mib,
		},
		{
			// Plain gzip'd zeros are no tar: two zero blocks end it.
			name: "gzip of zeros", data: gzipBomb(t, nil, 0),
			want:     []string{"the source has no files"},
			maxAlloc: 2 * mib,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.data) > 1*mib {
				t.Fatalf("test archive is %d bytes; a bomb should be small", len(tt.data))
			}
			var err error
			n := allocated(func() { _, err = FromArchive(tt.data, tt.lim) })
			wantInvalid(t, err, "archive", tt.want...)
			if n > tt.maxAlloc {
				t.Errorf("allocated %d bytes reading a %d-byte archive, want at most %d", n, len(tt.data), tt.maxAlloc)
			}
		})
	}
}

func TestFromArchiveHeaderBudget(t *testing.T) {
	// Headers are not content, but the decompressed stream is capped all
	// the same: two entries with 800 KiB pax records exceed the ~1 MiB of
	// room a 1-file limit leaves for headers.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"a", "b"} {
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX,
			PAXRecords: map[string]string{"comment": strings.Repeat("x", 800<<10)}}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	_, err := FromArchive(gzipBytes(t, buf.Bytes()), Limits{MaxFiles: 1, MaxTotalBytes: 1024})
	wantInvalid(t, err, "archive", "expands to more than")
}

func TestFromArchiveTooLarge(t *testing.T) {
	lim := Limits{MaxFiles: 1, MaxTotalBytes: 1024}
	data := append([]byte{0x1f, 0x8b}, make([]byte, 2<<20)...)
	_, err := FromArchive(data, lim)
	wantInvalid(t, err, "archive", "the archive is 2 MiB", "the limit is")
}
