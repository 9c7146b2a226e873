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
	"strconv"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/sandbox"
)

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
func (m *Manager) startReplica(ctx context.Context, inst *instance, d *Deployment, plan *appruntime.Plan, run int64, i int, appDir string) (sandbox.Sandbox, error) {
	spec, err := m.replicaSpec(ctx, d, plan, appDir)
	if err != nil {
		return nil, err
	}
	// The revision and the run are in the name: a redeploy's or a
	// restart's replicas start while the previous run's still serve, and
	// the router pools connections by name.
	spec.Name = fmt.Sprintf("%s-v%d-s%d-r%d", d.ID, d.Revision, run, i)
	stdout := m.output(ctx, inst, logs.Stdout, logs.Run, i)
	stderr := m.output(ctx, inst, logs.Stderr, logs.Run, i)
	start := time.Now()
	sb, warm, err := m.startSandbox(ctx, inst, spec, stdout, stderr)
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
			return nil, fmt.Errorf("the app %s before listening on port %d:\n%s", describeExit(sb.Status(), m.limits(d)), appruntime.AppPort, recentOf(ctx).tail(reasonLines))
		}
		return nil, fmt.Errorf("%v:\n%s", err, recentOf(ctx).tail(reasonLines))
	}
	line := fmt.Sprintf("replica %d ready after %s", i, time.Since(start).Round(time.Millisecond))
	if warm {
		line += " (in the sandbox prepared while it slept)"
	}
	m.say(ctx, inst, logs.Run, line)
	return sb, nil
}

// replicaSpec is the sandbox a replica of d runs in, from appDir, without
// its name and output writers.
func (m *Manager) replicaSpec(ctx context.Context, d *Deployment, plan *appruntime.Plan, appDir string) (sandbox.Spec, error) {
	mounts := []sandbox.Mount{
		{HostPath: appDir, SandboxPath: sandboxAppDir, Writable: true},
		{HostPath: m.dataDir(d.ID), SandboxPath: sandboxDataDir, Writable: true},
	}
	if plan.CacheKey != "" {
		if err := os.MkdirAll(filepath.Join(appDir, "node_modules"), 0o755); err != nil {
			return sandbox.Spec{}, err
		}
		mounts = append(mounts, sandbox.Mount{HostPath: m.modulesDir(d.OwnerID, plan.CacheKey), SandboxPath: sandboxAppDir + "/node_modules"})
	}
	if len(plan.Start) > 0 && plan.Start[0] == appruntime.SelfBinary {
		dir, err := m.selfBinaryDir()
		if err != nil {
			return sandbox.Spec{}, fmt.Errorf("cannot provide the coderunner binary: %w", err)
		}
		mounts = append(mounts, sandbox.Mount{HostPath: dir, SandboxPath: filepath.Dir(appruntime.SelfBinary)})
	}
	env := []string{"PATH=" + sandboxPath, "HOME=/tmp", "NODE_ENV=production", "DATA_DIR=" + sandboxDataDir}
	env = append(env, envOf(ctx)...)
	// Last, so user values cannot override them.
	env = append(env, "PORT="+strconv.Itoa(appruntime.AppPort), "HOST=0.0.0.0")
	return sandbox.Spec{
		UID:     sandboxUID(d.OwnerID),
		Mounts:  mounts,
		WorkDir: sandboxAppDir,
		Command: plan.Start,
		Env:     env,
		Limits:  m.limits(d),
		// A manifest app is served by the platform's own code and needs no
		// egress; skipping the network helper also makes it start faster.
		Network:  plan.Runtime != appruntime.Manifest,
		Forwards: forwardsOf(ctx),
	}, nil
}

// startSandbox starts spec with its output to stdout and stderr: in the
// sandbox prepared while the deployment slept when the operation under ctx
// holds one made for the same spec (warm is then true), otherwise anew.
func (m *Manager) startSandbox(ctx context.Context, inst *instance, spec sandbox.Spec, stdout, stderr io.Writer) (sb sandbox.Sandbox, warm bool, err error) {
	if w := takeWarm(ctx); w != nil {
		sb, err := w.start(spec, stdout, stderr)
		if err == nil {
			return sb, true, nil
		}
		m.logger.Debug("the prepared sandbox was not used", "deployment", inst.id, "reason", err)
	}
	spec.Stdout, spec.Stderr = stdout, stderr
	sb, err = m.driver.Start(ctx, spec)
	return sb, false, err
}

// errExited is waitReady's error for a replica that exited before it was ready.
var errExited = errors.New("exited")

// waitReady polls until the app accepts connections on its port and, if
// it serves /health, that answers below 500.
func (m *Manager) waitReady(ctx context.Context, sb sandbox.Sandbox) error {
	deadline := time.NewTimer(m.cfg.ReadyTimeout)
	defer deadline.Stop()
	addr := "127.0.0.1:" + strconv.Itoa(appruntime.AppPort)
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return sb.DialContext(ctx, network, addr)
		}},
	}
	defer client.CloseIdleConnections()
	// A dial into the sandbox costs about 0.1 ms, so polling is cheap and
	// keeps the time to RUNNING close to the app's own start-up: every
	// millisecond while a fast start (a wake's) may end, every 5 ms after.
	started := time.Now()
	lastHealth := 0 // the last /health status seen, once the port accepts
	for {
		delay := 5 * time.Millisecond
		if time.Since(started) < 250*time.Millisecond {
			delay = time.Millisecond
		}
		conn, err := sb.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			res, err := client.Get("http://app/health")
			if err != nil {
				return nil // accepts connections, does not speak HTTP on /health
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			_ = res.Body.Close()
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
				return fmt.Errorf("the app listens on port %d but GET /health still answered %d after %s", appruntime.AppPort, lastHealth, m.cfg.ReadyTimeout)
			}
			return fmt.Errorf("the app did not accept connections on port %d within %s", appruntime.AppPort, m.cfg.ReadyTimeout)
		case <-time.After(delay):
		}
	}
}
