package orchestrator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/coderunner/coderunner/server/appruntime"
)

// A cached node_modules (cache/owners/<owner>/node_modules/<key>) is
// removed once nothing needs it: no deployment of its owner on this server
// that is not destroyed builds to its key, no kept release of theirs runs
// with it, and no run has it mounted. The
// mounts count because a redeploy's previous revision keeps running from
// the old key until it has drained and stopped, while the row already
// names the new source. Collection runs when a redeploy has stopped the
// previous revision, when a deployment is deleted, and at start-up.
//
// It holds the source pins' lock while it reads the rows and removes, and
// keeps the keys of pinned sources too: a Create or Redeploy pins its
// source before it writes the row that names it, and a redeploy pins the
// running revision's while it may still fall back to it. A pinned source
// that is not stored yet ends the round.
type moduleMounts struct {
	mu sync.Mutex
	n  map[string]int // live runs by mounted node_modules dir
}

// mountModules records that a run mounts dir until release is called.
func (m *Manager) mountModules(dir string) (release func()) {
	m.mounts.mu.Lock()
	defer m.mounts.mu.Unlock()
	if m.mounts.n == nil {
		m.mounts.n = map[string]int{}
	}
	m.mounts.n[dir]++
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mounts.mu.Lock()
			defer m.mounts.mu.Unlock()
			if m.mounts.n[dir]--; m.mounts.n[dir] == 0 {
				delete(m.mounts.n, dir)
			}
		})
	}
}

// collectModules removes owner's cached node_modules that nothing needs
// and returns how many it removed; when the owner has no deployment left
// on this server, it removes the owner's npm cache too. Failures are
// logged: a cache left behind costs disk, and the next collection tries
// again.
func (m *Manager) collectModules(ctx context.Context, owner string) int {
	dir := filepath.Join(m.ownerCacheDir(owner), "node_modules")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.logger.Warn("node_modules cache: list", "owner", owner, "error", err)
		return 0
	}
	m.pins.mu.Lock()
	defer m.pins.mu.Unlock()
	rows, err := m.store.OnNode(ctx, m.cfg.Node, owner)
	if err != nil {
		m.logger.Warn("node_modules cache: list the owner's deployments", "owner", owner, "error", err)
		return 0
	}
	removed := 0
	if len(entries) > 0 {
		// Only now read the sources the keys come from.
		keep := map[string]bool{}
		for digest := range m.pins.n {
			key, err := m.cacheKey("", digest)
			if err != nil {
				return 0 // about to be stored; the next round collects
			}
			keep[key] = true
		}
		for _, d := range rows {
			key, err := m.cacheKey(appruntime.Name(d.Runtime), d.SourceDigest)
			if err != nil {
				m.logger.Warn("node_modules cache: kept, a deployment's source cannot be read", "deployment", d.ID, "error", err)
				return 0
			}
			keep[key] = true
		}
		// A rollback reuses a kept release's build.
		releases, err := m.store.KeptReleases(ctx, m.cfg.Node, owner)
		if err != nil {
			m.logger.Warn("node_modules cache: list the owner's kept releases", "owner", owner, "error", err)
			return 0
		}
		for _, r := range releases {
			keep[r.BuildKey] = true
		}
		m.mounts.mu.Lock()
		defer m.mounts.mu.Unlock()
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if keep[e.Name()] || m.mounts.n[path] > 0 {
				continue
			}
			if err := os.RemoveAll(path); err != nil {
				m.logger.Warn("node_modules cache: remove", "dir", path, "error", err)
				continue
			}
			removed++
		}
	}
	if len(rows) == 0 && len(m.pins.n) == 0 && removed == len(entries) {
		if err := os.RemoveAll(m.ownerCacheDir(owner)); err != nil {
			m.logger.Warn("build caches: remove an owner's", "owner", owner, "error", err)
		}
	}
	return removed
}

// cacheKey returns the dependency cache key of the stored source digest
// built as rt ("" detects it), or "" when it has no dependencies to cache.
func (m *Manager) cacheKey(rt appruntime.Name, digest string) (string, error) {
	tree, err := m.sources.Get(digest)
	if err != nil {
		return "", err
	}
	if rt == "" {
		if rt, err = appruntime.Detect(tree); err != nil {
			return "", nil
		}
	}
	plan, err := appruntime.PlanFor(rt, tree)
	if err != nil {
		return "", nil
	}
	return plan.CacheKey, nil
}

// sweepModules collects every owner's cached node_modules, at start-up. It
// does nothing when the data dir holds a deployment this database does not
// know (see sweepSources).
func (m *Manager) sweepModules(ctx context.Context) {
	if stranger, err := m.unknownDeploymentDir(ctx); err != nil || stranger != "" {
		return // sweepSources has said why
	}
	owners, err := os.ReadDir(filepath.Join(m.cfg.DataDir, "cache", "owners"))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.logger.Warn("node_modules cache: list owners", "error", err)
		}
		return
	}
	removed := 0
	for _, owner := range owners {
		removed += m.collectModules(ctx, owner.Name())
	}
	if removed > 0 {
		m.logger.Info("node_modules cache: removed the ones no deployment uses", "removed", removed)
	}
}
