package orchestrator

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// sandboxPath is the PATH of build and run sandboxes. The directories on
// it are the host's (under /usr, bound read-only at the same path), so a
// lookup on the host finds the node a sandbox runs.
const sandboxPath = "/usr/local/bin:/usr/bin:/bin"

// sandboxSystemDir is the host directory every sandbox sees read-only at
// the same path (sandbox.systemDirArgs).
const sandboxSystemDir = "/usr"

// buildNodeDir is the nodedir node-gyp gets in build sandboxes, looked up
// once: without it node-gyp downloads the headers from nodejs.org for
// every native module, which fails on a host without that egress (and
// prebuild-install's fallback to compiling from source fails with it).
var buildNodeDir = sync.OnceValue(func() string { return nodeDir(sandboxPath, sandboxSystemDir) })

// nodeDir returns the install prefix of the first node on path when that
// prefix holds Node's headers (include/node/node_api.h), as node-gyp's
// nodedir wants it, and both the binary and the headers lie under
// visible; otherwise "", and node-gyp falls back to downloading.
func nodeDir(path, visible string) string {
	under := func(p string) bool { return p == visible || strings.HasPrefix(p, visible+"/") }
	for _, dir := range filepath.SplitList(path) {
		exe, err := filepath.EvalSymlinks(filepath.Join(dir, "node"))
		if err != nil {
			continue
		}
		if fi, err := os.Stat(exe); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		// The first node on path is the one the sandbox runs: its
		// headers or none, never another install's.
		prefix := filepath.Dir(filepath.Dir(exe))
		headers, err := filepath.EvalSymlinks(filepath.Join(prefix, "include", "node", "node_api.h"))
		if err != nil || !under(prefix) || !under(headers) {
			return ""
		}
		return prefix
	}
	return ""
}
