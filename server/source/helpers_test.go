package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/errs"
)

// wantInvalid checks that err is an InvalidArgument *errs.Error blaming
// field whose message contains every one of substrs.
func wantInvalid(t *testing.T, err error, field string, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an InvalidArgument error on %q", field)
	}
	if !errs.Is(err, errs.KindInvalidArgument) {
		t.Fatalf("err = %v (%T), want errs.KindInvalidArgument", err, err)
	}
	var e *errs.Error
	errors.As(err, &e)
	if e.Field != field {
		t.Errorf("field = %q, want %q (message %q)", e.Field, field, e.Message)
	}
	for _, s := range substrs {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message = %q, want it to contain %q", e.Message, s)
		}
	}
}

// tent is one entry of a test tar archive.
type tent struct {
	name string
	typ  byte // default tar.TypeReg
	body string
	mode int64 // default 0644
	link string
}

func reg(name, body string) tent       { return tent{name: name, body: body} }
func exe(name, body string) tent       { return tent{name: name, body: body, mode: 0o755} }
func dir(name string) tent             { return tent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) tent { return tent{name: name, typ: tar.TypeSymlink, link: target} }
func hardlink(name, target string) tent {
	return tent{name: name, typ: tar.TypeLink, link: target}
}

func makeTar(t testing.TB, entries ...tent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(1700000000, 0)}
		if e.typ == tar.TypeXGlobalHeader { // as git archive writes
			if err := tw.WriteHeader(&tar.Header{Typeflag: e.typ, PAXRecords: map[string]string{"comment": e.body}}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeTarGz(t testing.TB, entries ...tent) []byte {
	t.Helper()
	return gzipBytes(t, makeTar(t, entries...))
}

// zent is one entry of a test zip archive.
type zent struct {
	name  string
	body  string
	mode  fs.FileMode // default 0644; set for symlinks, FIFOs, ...
	flags uint16
}

func makeZip(t testing.TB, entries ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: e.flags}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if strings.HasSuffix(e.name, "/") {
				mode = fs.ModeDir | 0o755
			}
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatalf("zip header %q: %v", e.name, err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeZipRaw builds a zip with one entry whose header and (already
// compressed) data are given as is.
func makeZipRaw(t testing.TB, hdr *zip.FileHeader, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var zeroChunks = sync.OnceValues(func() (deflated, gzipped []byte) {
	zeros := make([]byte, 1<<20)
	var d bytes.Buffer
	fw, _ := flate.NewWriter(&d, flate.BestCompression)
	fw.Write(zeros)
	fw.Flush() // a sync flush: non-final blocks that can be repeated
	var g bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&g, gzip.BestCompression)
	zw.Write(zeros)
	zw.Close()
	return d.Bytes(), g.Bytes()
})

// deflatedZeros returns a raw deflate stream of mib MiB of zeros, built
// without compressing them all: repeated sync-flushed chunks that only
// refer back within themselves, then a final empty stored block.
func deflatedZeros(mib int) []byte {
	chunk, _ := zeroChunks()
	out := bytes.Repeat(chunk, mib)
	return append(out, 1, 0, 0, 0xff, 0xff)
}

// gzipBomb returns a tar.gz (concatenated gzip members) holding entries of
// mib MiB of zeros each, built cheaply.
func gzipBomb(t testing.TB, names []string, mib int) []byte {
	t.Helper()
	_, chunk := zeroChunks()
	var out bytes.Buffer
	for _, name := range names {
		var hdr bytes.Buffer
		tw := tar.NewWriter(&hdr)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(mib) << 20}); err != nil {
			t.Fatal(err)
		}
		out.Write(gzipBytes(t, hdr.Bytes())) // WriteHeader wrote the header block(s)
		for range mib {
			out.Write(chunk)
		}
	}
	out.Write(gzipBytes(t, make([]byte, 1024))) // end-of-archive blocks
	return out.Bytes()
}
