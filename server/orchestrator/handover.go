package orchestrator

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
)

// operate is one deployment's operation: (re)provision and build when
// rebuild is set, start the replicas, wait for readiness, then supervise
// until ctx is cancelled (which stops the replicas silently: the action that
// cancelled records the new status) or the deployment fails.
func (m *Manager) operate(ctx context.Context, inst *instance, rebuild bool) {
	m.deploy(ctx, inst, rebuild, inPlace, nil)
}

// replace starts the deployment anew beside the running operation,
// previous, which keeps serving until the new replicas are ready and
// routed, then drains and stops. With rebuild (a redeploy) the new
// revision is built in a staging dir first; without (a restart or a
// configuration change) the new replicas start from the app dir, unless
// it needs building. If the build or the start fails, the previous
// revision serves on (keepPrevious); if the operation is cancelled, it is
// stopped too.
func (m *Manager) replace(ctx context.Context, inst *instance, rebuild bool, previous *previousOperation) {
	kept, switched := false, false
	operationOf(ctx).fallback = func(reason string) bool {
		kept = !switched && m.keepPrevious(ctx, inst, previous, reason)
		return kept
	}
	// The previous revision's source and dependencies may be unused once
	// it has stopped, or the new revision's once it has failed. A restart
	// or an update (the same source) changes neither.
	release := sync.OnceFunc(func() {
		previous.unpin()
		if previous.nextDigest != previous.digest {
			m.releaseSources(context.WithoutCancel(ctx), previous.digest, previous.nextDigest)
			m.collectModules(context.WithoutCancel(ctx), inst.ownerID)
		}
	})
	// then learns once how the handover ended: at the switch, or when the
	// operation ends without one.
	var thenOnce sync.Once
	then := func(served bool) {
		if previous.then != nil {
			thenOnce.Do(func() { previous.then(served) })
		}
	}
	defer func() {
		if !kept {
			previous.stop()
		}
		release()
		then(!kept)
	}()
	stopPrevious := func() {
		switched = true
		previous.stop()
		release()
		then(true)
	}
	// A previous redeploy may still be handing over (detaching it ended
	// its drain): its build must be in the app dir before this operation
	// looks there.
	select {
	case <-previous.settled():
	case <-ctx.Done():
		return
	}
	m.deploy(ctx, inst, rebuild, besideRunning, stopPrevious)
}

// keepPrevious is replace's fallback: the new operation failed with
// reason before it served, so the previous one, if it still runs, is
// attached again and serves on. The deployment stays RUNNING, with the
// reason saying what failed, and its row names the running revision's
// source again. A configuration change keeps its release (the saved
// configuration applies at the next restart); a new source does not: its
// release is discarded and the one that serves on is current again, its
// configuration included. It reports whether the previous revision
// serves on.
func (m *Manager) keepPrevious(ctx context.Context, inst *instance, previous *previousOperation, reason string) bool {
	// An action holding the lock may be cancelling this operation and
	// waiting for it to end: give way to it rather than wait.
	for !inst.mu.TryLock() {
		if ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer inst.mu.Unlock()
	if ctx.Err() != nil || inst.op != operationOf(ctx) || !previous.running() {
		return false
	}
	inst.rmu.RLock()
	since := inst.since
	inst.rmu.RUnlock()
	reason = fmt.Sprintf("%s; revision %d serves on", reason, previous.revision)
	serving, err := m.servingRelease(ctx, inst.id, previous)
	if err != nil {
		m.logger.Warn("releases: load the release that serves on", "deployment", inst.id, "error", err)
	}
	var failed int64
	_, err = m.transition(ctx, inst.id, StatusRunning, reason, func(d *Deployment) {
		failed = d.Revision
		d.SourceDigest, d.Revision = previous.digest, previous.revision
		d.ReplacementFailed = true
		if !since.IsZero() {
			d.StartedAt = &since
		}
		if serving != nil {
			d.Release = serving.Number
			serving.configure(d)
		}
	})
	if err != nil {
		return false
	}
	if serving != nil && m.cfg.Secrets != nil {
		if err := m.cfg.Secrets.Restore(ctx, inst.id, serving.SecretVersions); err != nil {
			m.logger.Warn("releases: restore the secrets of the release that serves on", "deployment", inst.id, "error", err)
		}
	}
	if failed != previous.revision {
		_ = os.RemoveAll(m.stagingDir(inst.id, failed)) // the failed build
	}
	m.say(ctx, inst, logs.Run, "deployment failed: "+reason)
	cancel := inst.cancel
	inst.resume(previous)
	cancel() // this operation ends here
	return true
}

// drain waits until the previous revision's replicas have answered the
// requests the router sent them, for at most Config.DrainTimeout. It stops
// waiting early if one of the current replicas exits: they are supervised
// (restarted) only after the handover.
func (m *Manager) drain(ctx context.Context, inst *instance, previous, current []sandbox.Sandbox) {
	const poll = 10 * time.Millisecond
	start := time.Now()
	deadline := time.NewTimer(m.cfg.DrainTimeout)
	defer deadline.Stop()
	for {
		open := inst.inFlight(previous)
		if open == 0 {
			if waited := time.Since(start); waited >= poll {
				m.say(ctx, inst, logs.Run, fmt.Sprintf("%sanswered its last request %s after the switch", previousRevision, waited.Round(time.Millisecond)))
			}
			return
		}
		if detached(ctx) {
			m.say(ctx, inst, logs.Run, fmt.Sprintf("%sstopping with %s still open: a newer action replaces this one", previousRevision, requests(open)))
			return
		}
		if slices.ContainsFunc(current, exited) {
			m.say(ctx, inst, logs.Run, fmt.Sprintf("%sstopping with %s still open: a new replica exited", previousRevision, requests(open)))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-detachedSignal(ctx):
			continue // said above
		case <-deadline.C:
			m.say(ctx, inst, logs.Run, fmt.Sprintf("%sstopping with %s still open %s after the switch", previousRevision, requests(open), m.cfg.DrainTimeout))
			return
		case <-time.After(poll):
		}
	}
}

func requests(n int64) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}

func exited(sb sandbox.Sandbox) bool {
	select {
	case <-sb.Done():
		return true
	default:
		return false
	}
}

// handover is what a besideRunning deploy does once its replicas are
// ready and routed: the running revision drains and stops, and a staging
// dir takes the app dir's place (the running replicas' bind mounts follow
// the directory).
func (m *Manager) handover(ctx context.Context, inst *instance, d *Deployment, runDir string, stopRunning func()) func(previous, current []sandbox.Sandbox) error {
	return func(previous, current []sandbox.Sandbox) error {
		m.drain(ctx, inst, previous, current)
		stopRunning()
		if runDir == m.appDir(d.ID) {
			return nil
		}
		if err := replaceDir(runDir, m.appDir(d.ID)); err != nil {
			return fmt.Errorf("cannot put the new build in place: %w", err)
		}
		return m.markBuilt(d.ID, d.SourceDigest)
	}
}

// servingRelease is the release a failed replacement falls back to: the
// previous operation's, when the replacement brought a new source; nil
// when it keeps its own (a configuration change or a restart).
func (m *Manager) servingRelease(ctx context.Context, id string, previous *previousOperation) (*Release, error) {
	if previous.nextDigest == previous.digest || previous.release == 0 {
		return nil, nil
	}
	return m.store.Release(ctx, id, previous.release)
}
