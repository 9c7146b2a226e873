package orchestrator

import (
	"fmt"
	"os"
	"path/filepath"
)

// Paths inside every sandbox.
const (
	sandboxAppDir   = "/app"
	sandboxDataDir  = "/data"
	sandboxNpmCache = "/npm-cache"
)

// deploymentDir holds one deployment's app dir (and staging dirs), its
// data dir and its build record.
func (m *Manager) deploymentDir(id string) string {
	return filepath.Join(m.cfg.DataDir, "deployments", id)
}

func (m *Manager) appDir(id string) string { return filepath.Join(m.deploymentDir(id), "app") }

// stagingDir is where a redeploy to revision builds while the app dir
// still serves. One per revision: a redeploy can begin while the previous
// one still hands over (drains and moves its staging dir into place).
func (m *Manager) stagingDir(id string, revision int64) string {
	return filepath.Join(m.deploymentDir(id), fmt.Sprintf("app.next-%d", revision))
}

// removeStagingDirs removes every staging dir of deployment id: what
// redeploys that a crash or shutdown cut short left behind. Only for a
// build in place, when no other operation of the deployment runs.
func (m *Manager) removeStagingDirs(id string) {
	dirs, _ := filepath.Glob(filepath.Join(m.deploymentDir(id), "app.next-*"))
	for _, dir := range dirs {
		_ = os.RemoveAll(dir)
	}
}

func (m *Manager) dataDir(id string) string { return filepath.Join(m.deploymentDir(id), "data") }

// Build caches are per owner: a build runs the owner's own scripts with
// the npm cache writable, so a shared cache would let one user's build
// plant packages or metadata that another user's build then installs, and
// a node_modules cached under a key shared across users could hold what
// files outside the key (a postinstall's script) put there.
func (m *Manager) ownerCacheDir(owner string) string {
	return filepath.Join(m.cfg.DataDir, "cache", "owners", owner)
}

func (m *Manager) npmCacheDir(owner string) string {
	return filepath.Join(m.ownerCacheDir(owner), "npm")
}

func (m *Manager) modulesDir(owner, key string) string {
	return filepath.Join(m.ownerCacheDir(owner), "node_modules", key)
}

// removeSharedCaches removes the build caches of the layout before caches
// were per owner (cache/npm, cache/node_modules). At start-up, before any
// build runs.
func (m *Manager) removeSharedCaches() error {
	for _, dir := range []string{"npm", "node_modules"} {
		if err := os.RemoveAll(filepath.Join(m.cfg.DataDir, "cache", dir)); err != nil {
			return err
		}
	}
	return nil
}

// builtFile records the source digest the app dir was built from, or ""
// while a build in place is under way.
func (m *Manager) builtFile(id string) string {
	return filepath.Join(m.deploymentDir(id), "app.built")
}

// builtFrom returns the source digest the app dir was built from; known is
// false when the app dir predates the record.
func (m *Manager) builtFrom(id string) (digest string, known bool) {
	data, err := os.ReadFile(m.builtFile(id))
	if err != nil {
		return "", false
	}
	return string(data), true
}

func (m *Manager) markBuilt(id, digest string) error {
	if err := os.MkdirAll(m.deploymentDir(id), 0o755); err != nil {
		return err
	}
	return os.WriteFile(m.builtFile(id), []byte(digest), 0o644)
}

// replaceDir moves dir from to dir to, removing what was at to.
func replaceDir(from, to string) error {
	if err := os.RemoveAll(to); err != nil {
		return err
	}
	return os.Rename(from, to)
}
