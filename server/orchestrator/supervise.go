package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
)

// run starts every replica from appDir, routes to them, marks the
// deployment RUNNING and supervises it. began is when the operation
// started, for the deploy-to-ready metric. handover, if set, runs once the
// replicas are ready, routed and RUNNING, before supervision, with the
// replicas routed to before and the new ones: a redeploy stops the
// previous revision there.
func (m *Manager) run(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, began time.Time, appDir string, handover func(previous, current []sandbox.Sandbox) error) {
	replicas := make([]sandbox.Sandbox, max(d.Replicas, 1))
	stopAll := func() {
		inst.removeReplicas(replicas)
		for _, sb := range replicas {
			if sb != nil {
				_ = sb.Stop(m.cfg.StopGrace)
			}
		}
	}
	if plan.CacheKey != "" {
		defer m.mountModules(m.modulesDir(d.OwnerID, plan.CacheKey))()
	}
	started := time.Now()
	start := inst.starts.Add(1)
	for i := range replicas {
		sb, err := m.startReplica(ctx, inst, d, plan, start, i, appDir)
		if err != nil {
			stopAll()
			m.fail(ctx, inst, err.Error())
			return
		}
		replicas[i] = sb
	}
	previous := inst.setReplicas(append([]sandbox.Sandbox(nil), replicas...))
	inst.setRun(m.limits(d), time.Now())
	inst.restarts.Store(int64(d.RestartCount))
	if _, err := m.transition(ctx, d.ID, StatusRunning, fmt.Sprintf("ready after %s", time.Since(started).Round(time.Millisecond))); err != nil {
		stopAll()
		return
	}
	m.cfg.Metrics.ObserveReady(d.Runtime, time.Since(began))
	if handover != nil {
		if err := handover(previous, replicas); err != nil {
			stopAll()
			m.fail(ctx, inst, err.Error())
			return
		}
	}
	settled(ctx)
	// The release serves: releases older than the kept ones can go.
	m.pruneReleases(context.WithoutCancel(ctx), d)
	m.supervise(ctx, inst, d, plan, start, replicas)
}

// supervise waits for replicas to exit, restarting crashed ones with
// back-off, and follows the deployment's desired replica count (Scale)
// in place, until ctx is cancelled or the deployment is crash-looping.
func (m *Manager) supervise(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, start int64, replicas []sandbox.Sandbox) {
	set := &replicaSet{replicas: replicas, next: len(replicas), exited: make(chan sandbox.Sandbox, 16)}
	defer func() {
		set.draining.Wait()
		inst.removeReplicas(set.replicas)
		for _, sb := range set.replicas {
			_ = sb.Stop(m.cfg.StopGrace)
		}
	}()
	for _, sb := range set.replicas {
		set.watch(ctx, sb)
	}
	var rescaled <-chan struct{}
	if op := operationOf(ctx); op != nil {
		rescaled = op.rescaled
	}
	// A Scale while the run was starting asked for a count it has not
	// seen.
	m.rescale(ctx, inst, d, plan, start, set)
	var crashes []time.Time
	disk := time.NewTicker(diskCheckInterval)
	defer disk.Stop()
	for {
		var gone sandbox.Sandbox
		select {
		case <-ctx.Done():
			return
		case <-rescaled:
			m.rescale(ctx, inst, d, plan, start, set)
			continue
		case <-disk.C:
			if used, over := m.overDiskQuota(d.ID); over {
				m.fail(ctx, inst, fmt.Sprintf("disk quota exceeded: the app's files take %s, the limit is %s", formatBytes(used), formatBytes(m.cfg.DiskQuotaBytes)))
				return
			}
			continue
		case gone = <-set.exited:
		}
		i := slices.Index(set.replicas, gone)
		if i < 0 {
			continue // scaled away, or restarted already
		}
		status := m.crashed(ctx, inst, d, gone)
		how := describeExit(status, m.limits(d))
		now := time.Now()
		crashes = append(crashes, now)
		for len(crashes) > 0 && now.Sub(crashes[0]) > crashLoopWindow {
			crashes = crashes[1:]
		}
		if len(crashes) >= crashLoopCount {
			m.fail(ctx, inst, fmt.Sprintf("crash loop: the app %s, %d crashes within %s:\n%s", how, len(crashes), crashLoopWindow, recentOf(ctx).tail(reasonLines)))
			return
		}
		backoff := min(m.cfg.CrashBackoff<<(len(crashes)-1), crashBackoffMax)
		reason := m.restartReason(ctx, d, i, status, backoff)
		m.say(ctx, inst, logs.Run, reason)
		if err := m.recordRunning(ctx, inst, reason); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		sb, err := m.startReplica(ctx, inst, d, plan, start, i, m.appDir(d.ID))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// A restart that fails counts as another crash.
			m.say(ctx, inst, logs.Run, "restart failed: "+err.Error())
			crashes = append(crashes, time.Now())
			if len(crashes) >= crashLoopCount {
				m.fail(ctx, inst, "crash loop: "+err.Error())
				return
			}
			set.retry(ctx, gone) // try again after the next back-off
			continue
		}
		inst.replaceReplica(gone, sb)
		set.replicas[i] = sb
		set.watch(ctx, sb)
		if err := m.recordRunning(ctx, inst, fmt.Sprintf("replica %d restarted", i)); err != nil {
			return
		}
	}
}

// crashed releases an exited replica and counts its exit: the restart
// count (kept in the row and in inst) and, for an OOM kill, inst's OOM
// kills. It returns how the replica exited.
func (m *Manager) crashed(ctx context.Context, inst *instance, d *Deployment, sb sandbox.Sandbox) sandbox.ExitStatus {
	status := sb.Status()
	_ = sb.Stop(0) // release its cgroup
	if n, err := m.countRestart(ctx, d.ID); err != nil {
		m.logger.Error("count restart", "deployment", d.ID, "error", err)
	} else {
		d.RestartCount = n
		inst.restarts.Store(int64(n))
	}
	if status.OOMKilled {
		inst.oomKills.Add(1)
	}
	return status
}

// restartReason is the status reason while replica i waits backoff to
// restart after exiting with status.
func (m *Manager) restartReason(ctx context.Context, d *Deployment, i int, status sandbox.ExitStatus, backoff time.Duration) string {
	reason := fmt.Sprintf("replica %d %s; restarting in %s", i, describeExit(status, m.limits(d)), backoff)
	if status.OOMKilled {
		reason = fmt.Sprintf("out of memory (limit %s); replica %d restarting in %s", formatBytes(m.limits(d).MemoryBytes), i, backoff)
	}
	if detached(ctx) {
		reason = previousRevision + reason
	}
	return reason
}
