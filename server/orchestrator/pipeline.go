package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/runtime"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/source"
)

// Paths inside every sandbox.
const (
	sandboxAppDir   = "/app"
	sandboxDataDir  = "/data"
	sandboxNpmCache = "/npm-cache"
)

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

// operate is one deployment's operation: (re)provision and build when
// rebuild is set, start the replicas, wait for readiness, then supervise
// until ctx is cancelled (which stops the replicas silently: the action that
// cancelled records the new status) or the deployment fails.
func (m *Manager) operate(ctx context.Context, inst *instance, rebuild bool) {
	m.deploy(ctx, inst, rebuild, nil)
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
	defer func() {
		if !kept {
			previous.stop()
		}
		release()
	}()
	stopPrevious := func() {
		switched = true
		previous.stop()
		release()
	}
	// A previous redeploy may still be handing over (detaching it ended
	// its drain): its build must be in the app dir before this operation
	// looks there.
	select {
	case <-previous.settled():
	case <-ctx.Done():
		return
	}
	m.deploy(ctx, inst, rebuild, stopPrevious)
}

// keepPrevious is replace's fallback: the new operation failed with
// reason before it served, so the previous one, if it still runs, is
// attached again and serves on. The deployment stays RUNNING, with the
// reason saying what failed, and its row names the running revision's
// source again (the configuration saved by an update stays, and applies
// at the next restart). It reports whether the previous revision serves
// on.
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
	var failed int64
	_, err := m.transition(ctx, inst.id, StatusRunning, reason, func(d *Deployment) {
		failed = d.Revision
		d.SourceDigest, d.Revision = previous.digest, previous.revision
		d.ReplacementFailed = true
		if !since.IsZero() {
			d.StartedAt = &since
		}
	})
	if err != nil {
		return false
	}
	if failed != previous.revision {
		_ = os.RemoveAll(m.stagingDir(inst.id, failed)) // the failed build
	}
	m.say(ctx, inst, logs.Run, "deployment failed: "+reason)
	cancel := inst.cancel
	previous.op.reattach()
	inst.op, inst.cancel, inst.done = previous.op, previous.cancel, previous.done
	cancel() // this operation ends here
	return true
}

// deploy builds (when rebuild, or when there is no build yet) and runs the
// deployment. With stopRunning, the running operation serves until the new
// replicas are routed: a build goes to a staging dir, and stopRunning is
// called after the drain.
func (m *Manager) deploy(ctx context.Context, inst *instance, rebuild bool, stopRunning func()) {
	d := new(Deployment)
	if err := m.db.NewSelect().Model(d).Where("id = ?", inst.id).Scan(ctx); err != nil {
		m.logger.Error("load deployment", "deployment", inst.id, "error", err)
		return
	}
	tree, err := m.sources.Get(d.SourceDigest)
	if err != nil {
		m.fail(ctx, inst, fmt.Sprintf("source %s cannot be read: %v", d.SourceDigest, err))
		return
	}
	plan, err := runtime.PlanFor(runtime.Name(d.Runtime), tree)
	if err != nil {
		m.fail(ctx, inst, err.Error())
		return
	}
	if _, err := os.Stat(m.appDir(d.ID)); err != nil {
		rebuild = true // nothing built yet (or lost): build before starting
	}
	if _, err := os.Stat(m.modulesDir(d.OwnerID, plan.CacheKey)); plan.CacheKey != "" && err != nil {
		rebuild = true // the dependencies are no longer cached
	}
	if built, known := m.builtFrom(d.ID); known && built != d.SourceDigest {
		// The app dir holds another revision (a redeploy's build was
		// stopped before it replaced it) or a build that was cut short.
		rebuild = true
	}
	began := time.Now()
	runDir := m.appDir(d.ID)
	if rebuild {
		if stopRunning != nil {
			runDir = m.stagingDir(d.ID, d.Revision)
		} else {
			// A staged build that a crash or shutdown cut short.
			m.removeStagingDirs(d.ID)
			if err := m.markBuilt(d.ID, ""); err != nil {
				m.fail(ctx, inst, "cannot prepare the build: "+err.Error())
				return
			}
		}
		ok := m.build(ctx, inst, d, tree, plan, runDir)
		if ctx.Err() == nil {
			m.cfg.Metrics.ObserveBuild(d.Runtime, ok, time.Since(began))
		}
		if !ok {
			return
		}
		if stopRunning == nil {
			if err := m.markBuilt(d.ID, d.SourceDigest); err != nil {
				m.fail(ctx, inst, "cannot record the build: "+err.Error())
				return
			}
		}
		// UpdateDeployment during the build saved new env, replicas or
		// limits without restarting (nothing ran yet): start with them.
		if err := m.db.NewSelect().Model(d).WherePK().Scan(ctx); err != nil {
			m.fail(ctx, inst, "cannot read the deployment's configuration: "+err.Error())
			return
		}
	}
	var handover func(previous, current []sandbox.Sandbox) error
	if stopRunning != nil {
		// The new replicas start (from the staging dir, after a build)
		// while the old ones serve; once they are ready and routed, the old
		// ones drain and stop, and a staging dir takes the app dir's place
		// (the running replicas' bind mounts follow the directory).
		handover = func(previous, current []sandbox.Sandbox) error {
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
	m.run(ctx, inst, d, plan, began, runDir, handover)
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
	recentOf(ctx).add("[coderunner] " + line)
	m.logs.Append(inst.id, logs.System, phase, 0, line, false)
}

// output returns a writer that turns a process's output into log lines,
// kept among the recent lines of the operation under ctx too.
func (m *Manager) output(ctx context.Context, inst *instance, stream logs.Stream, phase logs.Phase, replica int) *lineWriter {
	recent := recentOf(ctx)
	return &lineWriter{emit: func(lines []logs.Captured) {
		recent.addLines(lines)
		m.logs.AppendBatch(inst.id, stream, phase, replica, lines)
	}}
}

// build writes the source into a fresh appDir (the app dir, or a redeploy's
// staging dir) and installs dependencies, reusing cached node_modules when
// the dependency key is unchanged.
func (m *Manager) build(ctx context.Context, inst *instance, d *Deployment, tree *source.Tree, plan *runtime.Plan, appDir string) bool {
	if _, err := m.transition(ctx, d.ID, StatusProvisioning, "preparing the sandbox"); err != nil || ctx.Err() != nil {
		return false
	}
	if err := os.RemoveAll(appDir); err != nil {
		m.fail(ctx, inst, "cannot clear the previous build: "+err.Error())
		return false
	}
	if err := source.WriteTo(tree, appDir); err != nil {
		m.fail(ctx, inst, "cannot write the source: "+err.Error())
		return false
	}
	for _, dir := range []string{m.dataDir(d.ID), m.npmCacheDir(d.OwnerID)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			m.fail(ctx, inst, "cannot create "+dir+": "+err.Error())
			return false
		}
	}

	if plan.Build == nil {
		_, err := m.transition(ctx, d.ID, StatusBuilding, "no dependencies to install")
		return err == nil && ctx.Err() == nil
	}
	if _, err := os.Stat(m.modulesDir(d.OwnerID, plan.CacheKey)); err == nil {
		m.say(ctx, inst, logs.Build, "dependencies unchanged: reusing the cached node_modules")
		_, err := m.transition(ctx, d.ID, StatusBuilding, "dependencies unchanged: reusing cached node_modules")
		return err == nil && ctx.Err() == nil
	}
	command := strings.Join(plan.Build, " ")
	if _, err := m.transition(ctx, d.ID, StatusBuilding, "running "+command); err != nil || ctx.Err() != nil {
		return false
	}
	m.say(ctx, inst, logs.Build, command+" started")
	start := time.Now()
	out := m.output(ctx, inst, logs.Stdout, logs.Build, 0)
	errOut := m.output(ctx, inst, logs.Stderr, logs.Build, 0)
	env := []string{"PATH=" + sandboxPath, "HOME=/tmp", "npm_config_cache=" + sandboxNpmCache, "npm_config_update_notifier=false", "NODE_ENV=production"}
	if dir := buildNodeDir(); dir != "" {
		// Native modules (node-gyp) compile against the installed Node's
		// headers instead of downloading them.
		env = append(env, "npm_config_nodedir="+dir)
	}
	sb, err := m.driver.Start(ctx, sandbox.Spec{
		Name: d.ID + "-build",
		UID:  sandboxUID(d.OwnerID),
		Mounts: []sandbox.Mount{
			{HostPath: appDir, SandboxPath: sandboxAppDir, Writable: true},
			{HostPath: m.npmCacheDir(d.OwnerID), SandboxPath: sandboxNpmCache, Writable: true},
		},
		WorkDir: sandboxAppDir,
		Command: plan.Build,
		Env:     env,
		Limits:  m.limits(d),
		Network: true,
		Stdout:  out,
		Stderr:  errOut,
	})
	if err != nil {
		m.fail(ctx, inst, "cannot start the build sandbox: "+err.Error())
		return false
	}
	timeout := time.NewTimer(m.cfg.BuildTimeout)
	defer timeout.Stop()
	select {
	case <-sb.Done():
	case <-ctx.Done():
		_ = sb.Stop(0)
		return false
	case <-timeout.C:
		_ = sb.Stop(0)
		out.flush()
		errOut.flush()
		m.fail(ctx, inst, fmt.Sprintf("build timed out after %s (%s):\n%s", m.cfg.BuildTimeout, command, recentOf(ctx).tail(reasonLines)))
		return false
	}
	_ = sb.Stop(0) // releases the sandbox's cgroup and network helper
	out.flush()
	errOut.flush()
	if status := sb.Status(); status.Code != 0 {
		m.fail(ctx, inst, fmt.Sprintf("build failed: %s %s:\n%s", command, describeExit(status, m.limits(d)), recentOf(ctx).tail(reasonLines)))
		return false
	}
	m.say(ctx, inst, logs.Build, fmt.Sprintf("%s finished in %s", command, time.Since(start).Round(time.Millisecond)))

	// Move the fresh node_modules into the cache. A concurrent build of the
	// same key may have won the race; then its copy serves.
	cache := m.modulesDir(d.OwnerID, plan.CacheKey)
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		m.fail(ctx, inst, "cannot create the dependency cache: "+err.Error())
		return false
	}
	if err := os.Rename(filepath.Join(appDir, "node_modules"), cache); err != nil {
		if _, statErr := os.Stat(cache); statErr != nil {
			m.fail(ctx, inst, "cannot cache node_modules: "+err.Error())
			return false
		}
	}
	return ctx.Err() == nil
}

// selfBinaryDir copies the running binary to <data-dir>/bin once and
// returns that directory, to be mounted read-only into manifest sandboxes.
func (m *Manager) selfBinaryDir() (string, error) {
	dir := filepath.Join(m.cfg.DataDir, "bin")
	m.selfOnce.Do(func() {
		m.selfErr = copyExecutable(m.cfg.SelfBinary, filepath.Join(dir, filepath.Base(runtime.SelfBinary)))
	})
	return dir, m.selfErr
}

func copyExecutable(from, to string) error {
	if from == "" {
		return errors.New("the server does not know its own binary")
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, to) // a running sandbox keeps the old inode
}

// diskCheckInterval is how often a running deployment's disk use is
// measured against its quota.
const diskCheckInterval = 2 * time.Second

// overDiskQuota measures what the deployment's writable dirs hold (its app
// and data dirs; the shared dependency cache is read-only to it).
func (m *Manager) overDiskQuota(id string) (int64, bool) {
	if m.cfg.DiskQuotaBytes <= 0 {
		return 0, false
	}
	var used int64
	for _, dir := range []string{m.appDir(id), m.dataDir(id)} {
		_ = filepath.WalkDir(dir, func(_ string, entry os.DirEntry, err error) error {
			if err != nil {
				return nil // vanished while walking: not counted
			}
			if info, err := entry.Info(); err == nil && info.Mode().IsRegular() {
				used += info.Size()
			}
			return nil
		})
	}
	return used, used > m.cfg.DiskQuotaBytes
}

func (m *Manager) limits(d *Deployment) sandbox.Limits {
	l := m.cfg.Limits
	if d.MemoryBytes > 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if d.CPUMillicores > 0 {
		l.CPUMillicores = d.CPUMillicores
	}
	return l
}

// describeExit says how a process ended, for reasons.
func describeExit(s sandbox.ExitStatus, limits sandbox.Limits) string {
	switch {
	case s.OOMKilled:
		return fmt.Sprintf("ran out of memory (limit %s)", formatBytes(limits.MemoryBytes))
	case s.Code == -1:
		return "was killed by signal " + s.Signal.String()
	default:
		return "exited with code " + strconv.Itoa(s.Code)
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// startReplica starts replica i of the instance's run-th run and waits
// until it is ready.
func (m *Manager) startReplica(ctx context.Context, inst *instance, d *Deployment, plan *runtime.Plan, run int64, i int, appDir string) (sandbox.Sandbox, error) {
	mounts := []sandbox.Mount{
		{HostPath: appDir, SandboxPath: sandboxAppDir, Writable: true},
		{HostPath: m.dataDir(d.ID), SandboxPath: sandboxDataDir, Writable: true},
	}
	if plan.CacheKey != "" {
		if err := os.MkdirAll(filepath.Join(appDir, "node_modules"), 0o755); err != nil {
			return nil, err
		}
		mounts = append(mounts, sandbox.Mount{HostPath: m.modulesDir(d.OwnerID, plan.CacheKey), SandboxPath: sandboxAppDir + "/node_modules"})
	}
	if len(plan.Start) > 0 && plan.Start[0] == runtime.SelfBinary {
		dir, err := m.selfBinaryDir()
		if err != nil {
			return nil, fmt.Errorf("cannot provide the coderunner binary: %w", err)
		}
		mounts = append(mounts, sandbox.Mount{HostPath: dir, SandboxPath: filepath.Dir(runtime.SelfBinary)})
	}
	env := []string{"PATH=" + sandboxPath, "HOME=/tmp", "NODE_ENV=production", "DATA_DIR=" + sandboxDataDir}
	for k, v := range d.Env {
		env = append(env, k+"="+v)
	}
	// Last, so user values cannot override them.
	env = append(env, "PORT="+strconv.Itoa(runtime.AppPort), "HOST=0.0.0.0")

	stdout := m.output(ctx, inst, logs.Stdout, logs.Run, i)
	stderr := m.output(ctx, inst, logs.Stderr, logs.Run, i)
	start := time.Now()
	sb, err := m.driver.Start(ctx, sandbox.Spec{
		// The revision and the run are in the name: a redeploy's or a
		// restart's replicas start while the previous run's still serve,
		// and the router pools connections by name.
		Name:    fmt.Sprintf("%s-v%d-s%d-r%d", d.ID, d.Revision, run, i),
		UID:     sandboxUID(d.OwnerID),
		Mounts:  mounts,
		WorkDir: sandboxAppDir,
		Command: plan.Start,
		Env:     env,
		Limits:  m.limits(d),
		// A manifest app is served by the platform's own code and needs no
		// egress; skipping the network helper also makes it start faster.
		Network: plan.Runtime != runtime.Manifest,
		Stdout:  stdout,
		Stderr:  stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot start the sandbox: %w", err)
	}
	if err := m.waitReady(ctx, sb); err != nil {
		_ = sb.Stop(m.cfg.StopGrace)
		stdout.flush()
		stderr.flush()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errExited) {
			return nil, fmt.Errorf("the app %s before listening on port %d:\n%s", describeExit(sb.Status(), m.limits(d)), runtime.AppPort, recentOf(ctx).tail(reasonLines))
		}
		return nil, fmt.Errorf("%v:\n%s", err, recentOf(ctx).tail(reasonLines))
	}
	m.say(ctx, inst, logs.Run, fmt.Sprintf("replica %d ready after %s", i, time.Since(start).Round(time.Millisecond)))
	return sb, nil
}

var errExited = errors.New("exited")

// waitReady polls until the app accepts connections on its port and, if
// it serves /health, that answers below 500.
func (m *Manager) waitReady(ctx context.Context, sb sandbox.Sandbox) error {
	deadline := time.NewTimer(m.cfg.ReadyTimeout)
	defer deadline.Stop()
	addr := "127.0.0.1:" + strconv.Itoa(runtime.AppPort)
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return sb.DialContext(ctx, network, addr)
		}},
	}
	defer client.CloseIdleConnections()
	// A dial into the sandbox costs about 0.1 ms, so polling every 5 ms is
	// cheap and keeps the time to RUNNING close to the app's own start-up.
	const delay = 5 * time.Millisecond
	lastHealth := 0 // the last /health status seen, once the port accepts
	for {
		conn, err := sb.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			res, err := client.Get("http://app/health")
			if err != nil {
				return nil // accepts connections, does not speak HTTP on /health
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
			lastHealth = res.StatusCode
		}
		select {
		case <-sb.Done():
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if lastHealth != 0 {
				return fmt.Errorf("the app listens on port %d but GET /health still answered %d after %s", runtime.AppPort, lastHealth, m.cfg.ReadyTimeout)
			}
			return fmt.Errorf("the app did not accept connections on port %d within %s", runtime.AppPort, m.cfg.ReadyTimeout)
		case <-time.After(delay):
		}
	}
}

// run starts every replica from appDir, routes to them, marks the
// deployment RUNNING and supervises it. began is when the operation
// started, for the deploy-to-ready metric. handover, if set, runs once the
// replicas are ready, routed and RUNNING, before supervision, with the
// replicas routed to before and the new ones: a redeploy stops the
// previous revision there.
func (m *Manager) run(ctx context.Context, inst *instance, d *Deployment, plan *runtime.Plan, began time.Time, appDir string, handover func(previous, current []sandbox.Sandbox) error) {
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
	m.supervise(ctx, inst, d, plan, start, replicas, stopAll)
}

// supervise waits for replicas to exit, restarting crashed ones with
// back-off, until ctx is cancelled or the deployment is crash-looping.
func (m *Manager) supervise(ctx context.Context, inst *instance, d *Deployment, plan *runtime.Plan, start int64, replicas []sandbox.Sandbox, stopAll func()) {
	defer stopAll()
	exited := make(chan int, len(replicas))
	watch := func(i int, sb sandbox.Sandbox) {
		go func() {
			select {
			case <-sb.Done():
				exited <- i
			case <-ctx.Done():
			}
		}()
	}
	for i, sb := range replicas {
		watch(i, sb)
	}
	var crashes []time.Time
	disk := time.NewTicker(diskCheckInterval)
	defer disk.Stop()
	for {
		var i int
		select {
		case <-ctx.Done():
			return
		case <-disk.C:
			if used, over := m.overDiskQuota(d.ID); over {
				m.fail(ctx, inst, fmt.Sprintf("disk quota exceeded: the app's files take %s, the limit is %s", formatBytes(used), formatBytes(m.cfg.DiskQuotaBytes)))
				return
			}
			continue
		case i = <-exited:
		}
		status := replicas[i].Status()
		_ = replicas[i].Stop(0) // release its cgroup
		how := describeExit(status, m.limits(d))
		now := time.Now()
		crashes = append(crashes, now)
		for len(crashes) > 0 && now.Sub(crashes[0]) > crashLoopWindow {
			crashes = crashes[1:]
		}
		if n, err := m.countRestart(ctx, d.ID); err != nil {
			m.logger.Error("count restart", "deployment", d.ID, "error", err)
		} else {
			d.RestartCount = n
			inst.restarts.Store(int64(n))
		}
		if status.OOMKilled {
			inst.oomKills.Add(1)
		}
		if len(crashes) >= crashLoopCount {
			m.fail(ctx, inst, fmt.Sprintf("crash loop: the app %s, %d crashes within %s:\n%s", how, len(crashes), crashLoopWindow, recentOf(ctx).tail(reasonLines)))
			return
		}
		backoff := min(m.cfg.CrashBackoff<<(len(crashes)-1), crashBackoffMax)
		reason := fmt.Sprintf("replica %d %s; restarting in %s", i, how, backoff)
		if status.OOMKilled {
			reason = fmt.Sprintf("out of memory (limit %s); replica %d restarting in %s", formatBytes(m.limits(d).MemoryBytes), i, backoff)
		}
		if detached(ctx) {
			reason = previousRevision + reason
		}
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
			exited <- i // try again after the next back-off
			continue
		}
		inst.replaceReplica(replicas[i], sb)
		replicas[i] = sb
		watch(i, sb)
		if err := m.recordRunning(ctx, inst, fmt.Sprintf("replica %d restarted", i)); err != nil {
			return
		}
	}
}
