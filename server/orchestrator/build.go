package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/source"
)

// build writes the source into a fresh appDir (the app dir, or a redeploy's
// staging dir) and installs dependencies, reusing cached node_modules when
// the dependency key is unchanged.
func (m *Manager) build(ctx context.Context, inst *instance, d *Deployment, tree *source.Tree, plan *appruntime.Plan, appDir string) bool {
	if _, err := m.transition(ctx, d.ID, StatusProvisioning, "preparing the sandbox"); err != nil || ctx.Err() != nil {
		return false
	}
	if !m.writeSource(ctx, inst, d, tree, appDir) {
		return false
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
	return m.runBuild(ctx, inst, d, plan, appDir) && m.cacheModules(ctx, inst, d, plan, appDir)
}

// writeSource writes the source into a fresh appDir and makes the
// deployment's data dir and its owner's npm cache.
func (m *Manager) writeSource(ctx context.Context, inst *instance, d *Deployment, tree *source.Tree, appDir string) bool {
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
	return true
}

// runBuild runs the plan's build command in a build sandbox (with
// network, the app dir and the npm cache writable) within BuildTimeout,
// its output in the build log.
func (m *Manager) runBuild(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, appDir string) bool {
	command := strings.Join(plan.Build, " ")
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
	return true
}

// cacheModules moves the fresh node_modules into the owner's cache under
// the plan's key. A concurrent build of the same key may have won the
// race; then its copy serves.
func (m *Manager) cacheModules(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, appDir string) bool {
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
		m.selfErr = copyExecutable(m.cfg.SelfBinary, filepath.Join(dir, filepath.Base(appruntime.SelfBinary)))
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
	defer func() { _ = in.Close() }()
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, to) // a running sandbox keeps the old inode
}
