package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/coderunner/coderunner/server/source"
)

// Stored sources are content-addressed, so deployments and revisions with
// the same files share one. A source is removed once no deployment that is
// not destroyed names it: right after a redeploy replaces it or a delete
// destroys its deployment, and at start-up (Reconcile) for whatever a
// crash or an older server left behind. Rows of every node count, so a
// source is never removed while any server's deployment still names it.
//
// Storing a source and writing the row that names it are not one
// transaction. So Create and Redeploy pin the digest from before the Put
// until the row is written, and removal skips pinned digests and holds the
// pins' lock while it reads the rows and deletes: it cannot remove a file
// that a row is about to name, and a Put after a removal writes the file
// again.
type sourcePins struct {
	mu sync.Mutex
	n  map[string]int // pins by digest
}

// storeSource pins tree's digest and stores tree. The caller writes the row
// that names the digest and then calls done, with abandoned true if it
// wrote none (the source is then removed unless another row names it).
func (m *Manager) storeSource(ctx context.Context, tree *source.Tree) (digest string, done func(abandoned bool), err error) {
	digest = tree.Digest()
	unpin := m.pinSource(digest)
	done = func(abandoned bool) {
		unpin()
		if abandoned {
			m.releaseSources(context.WithoutCancel(ctx), digest)
		}
	}
	if _, err := m.sources.Put(tree); err != nil {
		done(true)
		return "", nil, fmt.Errorf("store source: %w", err)
	}
	return digest, done, nil
}

// pinSource keeps digest's source from removal until unpin is called
// (once; later calls do nothing).
func (m *Manager) pinSource(digest string) (unpin func()) {
	m.pins.mu.Lock()
	defer m.pins.mu.Unlock()
	if m.pins.n == nil {
		m.pins.n = map[string]int{}
	}
	m.pins.n[digest]++
	return sync.OnceFunc(func() {
		m.pins.mu.Lock()
		defer m.pins.mu.Unlock()
		if m.pins.n[digest]--; m.pins.n[digest] == 0 {
			delete(m.pins.n, digest)
		}
	})
}

// releaseSources removes those of digests that no deployment names any
// more and no Create or Redeploy has pinned, and returns how many it
// removed. It removes none while the data dir holds a deployment this
// database does not know. Failures are logged: a source left behind costs disk, not
// correctness, and the next start-up sweep tries again.
func (m *Manager) releaseSources(ctx context.Context, digests ...string) int {
	digests = slices.DeleteFunc(slices.Clone(digests), func(d string) bool { return d == "" })
	if len(digests) == 0 {
		return 0 // nothing to look up
	}
	// Another database's deployments may use these sources (see
	// sweepSources): keep them.
	if stranger, err := m.unknownDeploymentDir(ctx); err != nil || stranger != "" {
		m.logger.Debug("sources: kept, the data dir holds deployments of another database", "deployment", stranger, "error", err)
		return 0
	}
	m.pins.mu.Lock()
	defer m.pins.mu.Unlock()
	named, err := m.store.SourcesInUse(ctx)
	if err != nil {
		m.logger.Warn("sources: list the ones in use", "error", err)
		return 0
	}
	inUse := make(map[string]bool, len(named))
	for _, d := range named {
		inUse[d] = true
	}
	removed := 0
	for _, digest := range digests {
		if inUse[digest] || m.pins.n[digest] > 0 {
			continue
		}
		if err := m.sources.Delete(digest); err != nil {
			m.logger.Warn("sources: remove", "digest", digest, "error", err)
			continue
		}
		removed++
	}
	return removed
}

// sweepSources removes every stored source no deployment names. It does
// nothing when the data dir holds a deployment this database does not know:
// the data dir has then been used with another database (SQLite before
// DATABASE_URL was set, say), whose deployments' sources must survive a
// visit to this one.
func (m *Manager) sweepSources(ctx context.Context) {
	if stranger, err := m.unknownDeploymentDir(ctx); err != nil || stranger != "" {
		if err != nil {
			m.logger.Warn("sources: not removing unused ones", "error", err)
		} else {
			m.logger.Info("sources: not removing unused ones: the data dir holds a deployment this database does not know (used with another database?)", "deployment", stranger)
		}
		return
	}
	digests, err := m.sources.Digests()
	if err != nil {
		m.logger.Warn("sources: list the stored ones", "error", err)
		return
	}
	if n := m.releaseSources(ctx, digests...); n > 0 {
		m.logger.Info("sources: removed the ones no deployment uses", "removed", n, "kept", len(digests)-n)
	}
}

// unknownDeploymentDir returns the id of a deployment dir under the data
// dir that has no row in the database, or "" if every one has.
func (m *Manager) unknownDeploymentDir(ctx context.Context) (string, error) {
	entries, err := os.ReadDir(filepath.Join(m.cfg.DataDir, "deployments"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list deployment dirs: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	if len(ids) == 0 {
		return "", nil
	}
	known, err := m.store.Known(ctx, ids)
	if err != nil {
		return "", err
	}
	have := make(map[string]bool, len(known))
	for _, id := range known {
		have[id] = true
	}
	for _, id := range ids {
		if !have[id] {
			return id, nil
		}
	}
	return "", nil
}
