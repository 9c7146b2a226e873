package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/errs"
)

// keepReleases is how many of a deployment's latest releases keep their
// source, build and secret versions.
func (m *Manager) keepReleases() int64 {
	if m.cfg.KeepReleases > 0 {
		return int64(m.cfg.KeepReleases)
	}
	return DefaultKeepReleases
}

// configDraft is the release a configuration change of d makes: its
// source and build as they are, its secrets at their current versions.
// The build is the current release's; only a release without one (a
// manifest app, or release 1 of a deployment from before releases) has
// it worked out from the source.
func (m *Manager) configDraft(ctx context.Context, d *Deployment, what string) (*releaseDraft, error) {
	versions, err := m.secretVersions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	var key string
	if current, err := m.store.Release(ctx, d.ID, d.Release); err == nil {
		key = current.BuildKey
	}
	if key == "" {
		key, _ = m.cacheKey(appruntime.Name(d.Runtime), d.SourceDigest)
	}
	return &releaseDraft{kind: ReleaseConfig, description: what, actor: d.OwnerID, buildKey: key, secretVersions: versions}, nil
}

// Releases returns one page of ownerID's deployment id's releases, newest
// first, and the offset of the next page (0 when none).
func (m *Manager) Releases(ctx context.Context, ownerID, id string, offset, limit int) ([]Release, int, error) {
	if _, err := m.Get(ctx, ownerID, id); err != nil {
		return nil, 0, err
	}
	list, err := m.store.Releases(ctx, id, offset, limit+1)
	if err != nil {
		return nil, 0, err
	}
	list, next := page(list, offset, limit)
	return list, next, nil
}

// Rollback makes a new release that runs release number's exact source,
// build, env, secret versions and limits, and deploys it like a redeploy:
// a running deployment keeps serving until the new replicas are ready.
// The kept build is reused, so no dependency install runs. What the app
// wrote (its data dir) and the replica count stay as they are.
func (m *Manager) Rollback(ctx context.Context, ownerID, id string, number int64) (*Deployment, error) {
	d, err := m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		target, err := m.rollbackTarget(ctx, d, number)
		if err != nil {
			return nil, err
		}
		draft := &releaseDraft{
			kind: ReleaseRollback, description: fmt.Sprintf("rollback to release %d", number), actor: ownerID,
			buildKey: target.BuildKey, secretVersions: target.SecretVersions, rollbackOf: number,
		}
		if m.cfg.Secrets != nil {
			// The secrets go back with the release or not at all.
			draft.prepare = func(ctx context.Context) error {
				return m.cfg.Secrets.Restore(ctx, d.ID, target.SecretVersions)
			}
		}
		restore := func(d *Deployment) {
			d.Revision++
			d.SourceDigest = target.SourceDigest
			target.configure(d)
		}
		reason := fmt.Sprintf("rollback to release %d requested", number)
		if d.Status == StatusRunning {
			return m.replaceRunning(ctx, inst, d, reason, true, draft, restore)
		}
		inst.halt()
		d, err = m.transitionReleasing(ctx, d.ID, StatusPending, reason, draft, restore)
		if err == nil {
			m.launch(inst, func(ctx context.Context) { m.operate(ctx, inst, true) })
		}
		return d, err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// rollbackTarget loads release number of d and checks it can be rolled
// back to: it exists, is not the current one, and its source is kept.
func (m *Manager) rollbackTarget(ctx context.Context, d *Deployment, number int64) (*Release, error) {
	target, err := m.store.Release(ctx, d.ID, number)
	if errors.Is(err, ErrNoRelease) {
		return nil, errs.Field(errs.KindNotFound, "release", "deployment %q has no release %d (its latest is %d)", d.Name, number, d.Release)
	}
	if err != nil {
		return nil, err
	}
	if number == d.Release {
		return nil, errs.Field(errs.KindFailedPrecondition, "release", "release %d is the current release of %q; roll back to an earlier one", number, d.Name)
	}
	if target.Pruned {
		return nil, errs.Field(errs.KindFailedPrecondition, "release",
			"release %d of %q is older than the %d releases kept for rollback; its source and build were removed", number, d.Name, m.keepReleases())
	}
	tree, err := m.sources.Get(target.SourceDigest)
	if err != nil {
		return nil, errs.Field(errs.KindFailedPrecondition, "release", "the source of release %d cannot be read: %v", number, err)
	}
	if appruntime.Name(d.Runtime) == appruntime.Manifest {
		// The old manifest's tables must fit the data as it is now.
		if err := m.migrateManifest(ctx, d, tree); err != nil {
			return nil, err
		}
	}
	return target, nil
}

// pruneReleases marks d's releases older than the kept ones as pruned and
// removes what only they needed: sources, cached builds and secret
// versions. It runs once a release serves, so a release that fails
// before serving prunes nothing. Failures are logged; the next release
// tries again.
func (m *Manager) pruneReleases(ctx context.Context, d *Deployment) {
	pruned, err := m.store.PruneReleases(ctx, d.ID, d.Release-m.keepReleases()+1)
	if err != nil {
		m.logger.Warn("releases: prune", "deployment", d.ID, "error", err)
		return
	}
	if len(pruned) == 0 {
		return
	}
	digests := make([]string, len(pruned))
	for i, r := range pruned {
		digests[i] = r.SourceDigest
	}
	m.releaseSources(ctx, digests...)
	m.collectModules(ctx, d.OwnerID)
	if m.cfg.Secrets == nil {
		return
	}
	kept, err := m.store.Releases(ctx, d.ID, 0, int(m.keepReleases()))
	if err != nil {
		m.logger.Warn("releases: list the kept ones", "deployment", d.ID, "error", err)
		return
	}
	keep := make([]map[string]int64, 0, len(kept))
	for _, r := range kept {
		keep = append(keep, r.SecretVersions)
	}
	if err := m.cfg.Secrets.Retain(ctx, d.ID, keep); err != nil {
		m.logger.Warn("releases: remove unkept secret versions", "deployment", d.ID, "error", err)
	}
}
