package orchestrator

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/source"
)

// deployMode says what a deploy finds running.
type deployMode int

const (
	// inPlace: nothing of the deployment runs; a build goes straight into
	// the app dir and the new replicas start from there.
	inPlace deployMode = iota
	// besideRunning: a running revision serves until the new replicas are
	// ready and routed, then drains and stops; a build goes to a staging
	// dir, which takes the app dir's place after the handover.
	besideRunning
)

// deploy builds the deployment (when rebuild, or when its build is
// missing or stale) and runs it. In besideRunning mode, stopRunning stops
// the running revision once it has drained.
func (m *Manager) deploy(ctx context.Context, inst *instance, rebuild bool, mode deployMode, stopRunning func()) {
	d, err := m.store.Get(ctx, inst.id)
	if err != nil {
		m.logger.Error("load deployment", "deployment", inst.id, "error", err)
		return
	}
	if !m.loadSecrets(ctx, inst, d) {
		return
	}
	tree, err := m.sources.Get(d.SourceDigest)
	if err != nil {
		m.fail(ctx, inst, fmt.Sprintf("source %s cannot be read: %v", d.SourceDigest, err))
		return
	}
	plan, err := appruntime.PlanFor(appruntime.Name(d.Runtime), tree)
	if err != nil {
		m.fail(ctx, inst, err.Error())
		return
	}
	began := time.Now()
	runDir := m.appDir(d.ID)
	if rebuild || m.buildStale(d, plan) {
		if mode == besideRunning {
			runDir = m.stagingDir(d.ID, d.Revision)
		}
		if !m.buildFor(ctx, inst, d, tree, plan, mode, runDir, began) {
			return
		}
	}
	var handover func(previous, current []sandbox.Sandbox) error
	if mode == besideRunning {
		handover = m.handover(ctx, inst, d, runDir, stopRunning)
	}
	m.run(ctx, inst, d, plan, began, runDir, handover)
}

// buildStale reports whether the app dir cannot be run as it is.
func (m *Manager) buildStale(d *Deployment, plan *appruntime.Plan) bool {
	if _, err := os.Stat(m.appDir(d.ID)); err != nil {
		return true // nothing built yet (or lost)
	}
	if _, err := os.Stat(m.modulesDir(d.OwnerID, plan.CacheKey)); plan.CacheKey != "" && err != nil {
		return true // the dependencies are no longer cached
	}
	// The app dir may hold another revision (a redeploy's build was
	// stopped before it replaced it) or a build that was cut short.
	built, known := m.builtFrom(d.ID)
	return known && built != d.SourceDigest
}

// buildFor builds d into runDir and reloads d's configuration, which
// UpdateDeployment may have changed during the build without restarting
// (nothing ran yet). It reports whether the replicas may start.
func (m *Manager) buildFor(ctx context.Context, inst *instance, d *Deployment, tree *source.Tree, plan *appruntime.Plan, mode deployMode, runDir string, began time.Time) bool {
	if mode == inPlace {
		// Staged builds left by a crash or shutdown are of no use now.
		m.removeStagingDirs(d.ID)
		if err := m.markBuilt(d.ID, ""); err != nil {
			m.fail(ctx, inst, "cannot prepare the build: "+err.Error())
			return false
		}
	}
	ok := m.build(ctx, inst, d, tree, plan, runDir)
	if ctx.Err() == nil {
		m.cfg.Metrics.ObserveBuild(d.Runtime, ok, time.Since(began))
	}
	if !ok {
		return false
	}
	if mode == inPlace {
		if err := m.markBuilt(d.ID, d.SourceDigest); err != nil {
			m.fail(ctx, inst, "cannot record the build: "+err.Error())
			return false
		}
	}
	fresh, err := m.store.Get(ctx, d.ID)
	if err != nil {
		m.fail(ctx, inst, "cannot read the deployment's configuration: "+err.Error())
		return false
	}
	*d = *fresh
	return true
}

// fail records FAILED unless the operation was cancelled (then whoever
// cancelled it decides the status) or detached (then it is only logged).
func (m *Manager) fail(ctx context.Context, inst *instance, reason string) {
	if ctx.Err() != nil {
		return
	}
	if detached(ctx) {
		m.say(ctx, inst, logs.Run, previousRevision+"failed: "+reason)
		return
	}
	if op := operationOf(ctx); op != nil && op.fallback != nil && (op.fallback(reason) || ctx.Err() != nil) {
		return // the previous revision serves on, or an action cancelled this operation meanwhile
	}
	m.say(ctx, inst, logs.Run, "deployment failed: "+reason)
	_, _ = m.transition(ctx, inst.id, StatusFailed, reason)
}

// say records a platform line in the deployment's log (and, within an
// operation, among its recent lines).
func (m *Manager) say(ctx context.Context, inst *instance, phase logs.Phase, line string) {
	line = m.maskerFor(ctx, inst).Mask(line)
	recentOf(ctx).add("[coderunner] " + line)
	m.logs.Append(inst.id, logs.System, phase, 0, line, false)
}

// output returns a writer that turns a process's output into log lines,
// kept among the recent lines of the operation under ctx too.
func (m *Manager) output(ctx context.Context, inst *instance, stream logs.Stream, phase logs.Phase, replica int) *lineWriter {
	recent := recentOf(ctx)
	masker := m.maskerFor(ctx, inst)
	return &lineWriter{emit: func(lines []logs.Captured) {
		if masker != nil {
			for i := range lines {
				lines[i].Text = masker.Mask(lines[i].Text)
			}
		}
		recent.addLines(lines)
		m.logs.AppendBatch(inst.id, stream, phase, replica, lines)
	}}
}
