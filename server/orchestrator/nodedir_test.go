package orchestrator

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNodeDir: the nodedir is the prefix of the first node on the path,
// through symlinks, and only when its headers are there and the sandbox
// sees both.
func TestNodeDir(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir()) // nodeDir compares resolved paths
	if err != nil {
		t.Fatal(err)
	}
	usr := filepath.Join(root, "usr")
	install := func(prefix string, headers bool) {
		t.Helper()
		mustWrite(t, filepath.Join(prefix, "bin", "node"), 0o755)
		if headers {
			mustWrite(t, filepath.Join(prefix, "include", "node", "node_api.h"), 0o644)
		}
	}
	install(filepath.Join(usr, "lib", "nodejs"), true)
	install(filepath.Join(usr, "opt", "noheaders"), false)
	install(filepath.Join(root, "outside"), true)
	link := func(dir, target string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "node")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	viaLink := link(filepath.Join(usr, "local", "bin"), "../../lib/nodejs/bin/node")
	toOutside := link(filepath.Join(usr, "link-out"), filepath.Join(root, "outside", "bin", "node"))
	empty := filepath.Join(usr, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path, want string
	}{
		{"headers beside node", filepath.Join(usr, "lib", "nodejs", "bin"), filepath.Join(usr, "lib", "nodejs")},
		{"through a symlink", viaLink, filepath.Join(usr, "lib", "nodejs")},
		{"skips dirs without node", empty + ":" + viaLink, filepath.Join(usr, "lib", "nodejs")},
		{"first node has no headers", filepath.Join(usr, "opt", "noheaders", "bin") + ":" + viaLink, ""},
		{"outside what the sandbox sees", filepath.Join(root, "outside", "bin"), ""},
		{"symlink out of what the sandbox sees", toOutside, ""},
		{"no node", empty, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nodeDir(tc.path, usr); got != tc.want {
				t.Errorf("nodeDir(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func mustWrite(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, mode); err != nil {
		t.Fatal(err)
	}
}
