package app

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
)

// manifestRuntimeName is the manifest runtime alone
// (server/cmd/coderunner-manifest), which `make build` puts beside
// bin/coderunner.
const manifestRuntimeName = "coderunner-manifest"

// manifestRuntime is the binary manifest deployments run: coderunner-
// manifest beside exe (the running server) when it is of the same build,
// since it starts several times faster, otherwise exe itself, which
// serves `coderunner manifest-serve` too. why says which and why, for the
// start-up log.
func manifestRuntime(exe string) (path, why string) {
	if exe == "" {
		return "", "the server does not know its own binary: manifest deployments cannot start"
	}
	slim := filepath.Join(filepath.Dir(exe), manifestRuntimeName)
	if _, err := os.Stat(slim); err != nil {
		return exe, "no " + manifestRuntimeName + " beside the server (make build puts one there); the server's own binary serves manifests"
	}
	own, ok := debug.ReadBuildInfo()
	if !ok {
		return exe, "the server has no build information to compare " + slim + " with"
	}
	theirs, err := buildinfo.ReadFile(slim)
	if err != nil {
		return exe, fmt.Sprintf("%s is not a Go program (%v); the server's own binary serves manifests", slim, err)
	}
	if d := buildDifference(own, theirs); d != "" {
		return exe, fmt.Sprintf("%s is from another build (%s); the server's own binary serves manifests", slim, d)
	}
	return slim, "from the same build as the server"
}

// buildDifference names what differs between two binaries' builds: the
// main module, the Go version or the source revision; "" when none does.
func buildDifference(a, b *debug.BuildInfo) string {
	switch {
	case a.Main.Path != b.Main.Path:
		return fmt.Sprintf("module %s, not %s", b.Main.Path, a.Main.Path)
	case a.GoVersion != b.GoVersion:
		return fmt.Sprintf("%s, not %s", b.GoVersion, a.GoVersion)
	}
	for _, key := range []string{"vcs.revision", "vcs.modified"} {
		if va, vb := setting(a, key), setting(b, key); va != vb {
			return fmt.Sprintf("%s %q, not %q", key, vb, va)
		}
	}
	return ""
}

func setting(info *debug.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
