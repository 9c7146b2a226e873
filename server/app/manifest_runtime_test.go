package app

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// copyFile copies from to to, executable.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestManifestRuntime: the server runs coderunner-manifest beside it when
// that is of its own build, and its own binary when there is none, when
// it is not a Go program, or when its build differs.
func TestManifestRuntime(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "coderunner")
	copyFile(t, self, exe)
	slim := filepath.Join(dir, manifestRuntimeName)

	if path, why := manifestRuntime(exe); path != exe || !strings.Contains(why, "no coderunner-manifest beside") {
		t.Errorf("none beside: %s (%s)", path, why)
	}
	if err := os.WriteFile(slim, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if path, why := manifestRuntime(exe); path != exe || !strings.Contains(why, "not a Go program") {
		t.Errorf("a script beside: %s (%s)", path, why)
	}
	// This test binary is of the running build: a copy of it beside is
	// taken.
	copyFile(t, self, slim)
	if path, why := manifestRuntime(exe); path != slim || why != "from the same build as the server" {
		t.Errorf("same build beside: %s (%s)", path, why)
	}
	if path, _ := manifestRuntime(""); path != "" {
		t.Errorf("unknown executable: %q", path)
	}
}

// TestBuildDifference names the first difference of two builds.
func TestBuildDifference(t *testing.T) {
	base := func() *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/coderunner/coderunner"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}}
	}
	other := base()
	if d := buildDifference(base(), other); d != "" {
		t.Errorf("same builds differ: %s", d)
	}
	other.Settings[0].Value = "def"
	if d := buildDifference(base(), other); !strings.Contains(d, `vcs.revision "def", not "abc"`) {
		t.Errorf("another revision: %q", d)
	}
	other = base()
	other.GoVersion = "go1.25.0"
	if d := buildDifference(base(), other); !strings.Contains(d, "go1.25.0, not go1.26.8") {
		t.Errorf("another Go: %q", d)
	}
	other = base()
	other.Main.Path = "example.com/x"
	if d := buildDifference(base(), other); !strings.Contains(d, "module example.com/x") {
		t.Errorf("another module: %q", d)
	}
}
