package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/sandbox"
)

// A sleeping deployment keeps one replica's sandbox prepared (namespaces,
// mounts, cgroup, network and forwards set up; its command not run), so
// that its wake costs only the app's own start. It is made when the
// deployment goes to sleep (or is found asleep at start-up) and used by
// the next wake if the replica it would start is the one prepared: the
// same revision, environment (secrets included), limits and mounts, with
// the mounted directories the very ones. Any action on the deployment
// (stop, delete, update, start) discards it first; an action that leaves
// the deployment asleep prepares a new one (see act).
type warmReplica struct {
	prepared sandbox.Prepared
	// spec is what was prepared, without its name and writers; dirs
	// identify its mounts' host directories as they were then.
	spec sandbox.Spec
	dirs []dirID
	// release ends the hold on the node_modules cache the sandbox mounts
	// and uncounts it; once, when it is used or discarded.
	release func()
}

// dirID identifies a directory: one removed and made again (a rebuild)
// has another.
type dirID struct{ dev, ino uint64 }

// prepareWarm prepares inst's sandbox for its next wake, if the driver
// can and d sleeps. Failing is not an error: the wake starts a sandbox
// anew. The caller holds inst.mu.
func (m *Manager) prepareWarm(ctx context.Context, inst *instance, d *Deployment) {
	preparer, ok := m.driver.(sandbox.Preparer)
	if !ok || !m.cfg.WarmWake || m.closed.Load() || inst.warm != nil || d.Status != StatusIdle {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	w, err := m.newWarmReplica(ctx, preparer, inst, d)
	if err != nil {
		m.logger.Info("no sandbox prepared for the next wake", "deployment", d.ID, "reason", err)
		return
	}
	inst.warm = w
}

func (m *Manager) newWarmReplica(ctx context.Context, preparer sandbox.Preparer, inst *instance, d *Deployment) (*warmReplica, error) {
	tree, err := m.sources.Get(d.SourceDigest)
	if err != nil {
		return nil, err
	}
	plan, err := appruntime.PlanFor(appruntime.Name(d.Runtime), tree)
	if err != nil {
		return nil, err
	}
	if m.buildStale(d, plan) {
		return nil, errors.New("its build is not in place; the wake builds it")
	}
	cfg, err := m.resolveConfig(ctx, d)
	if err != nil {
		return nil, err
	}
	op := newOperation()
	op.env, op.forwards = cfg.env, cfg.forwards
	spec, err := m.replicaSpec(withOperation(ctx, op), d, plan, m.appDir(d.ID))
	if err != nil {
		return nil, err
	}
	unmount := func() {}
	if plan.CacheKey != "" {
		unmount = m.mountModules(m.modulesDir(d.OwnerID, plan.CacheKey))
	}
	// A run number of its own: the name differs from every replica's.
	spec.Name = fmt.Sprintf("%s-v%d-w%d-r0", d.ID, d.Revision, inst.starts.Add(1))
	prepared, err := preparer.Prepare(ctx, spec)
	if err != nil {
		unmount()
		return nil, err
	}
	m.cfg.Metrics.Prepared(1)
	release := sync.OnceFunc(func() {
		unmount()
		m.cfg.Metrics.Prepared(-1)
	})
	return &warmReplica{prepared: prepared, spec: spec, dirs: dirIDs(spec.Mounts), release: release}, nil
}

// discardWarm releases inst's prepared sandbox, if any. The caller holds
// inst.mu.
func (inst *instance) discardWarm() {
	if inst.warm != nil {
		inst.warm.discard()
		inst.warm = nil
	}
}

// takeWarm hands the operation under ctx's prepared sandbox to its first
// replica; nil when it has none (or gave it already).
func takeWarm(ctx context.Context) *warmReplica {
	op := operationOf(ctx)
	if op == nil {
		return nil
	}
	w := op.warm
	op.warm = nil
	return w
}

// start runs spec's command in the prepared sandbox, if it was prepared
// for spec; otherwise it discards it and says why.
func (w *warmReplica) start(spec sandbox.Spec, stdout, stderr io.Writer) (sandbox.Sandbox, error) {
	defer w.release()
	if !sameSpec(w.spec, spec) {
		w.prepared.Discard()
		return nil, errors.New("the deployment's configuration or build changed while it slept")
	}
	if !slices.Equal(w.dirs, dirIDs(spec.Mounts)) {
		w.prepared.Discard()
		return nil, errors.New("a directory it mounts was made anew while it slept")
	}
	return w.prepared.Start(stdout, stderr)
}

func (w *warmReplica) discard() {
	w.prepared.Discard()
	w.release()
}

// sameSpec compares two replicas' specs, bar their names and writers.
// Forwards compare by port: their dialers are the attached services'
// own, which live as long as the server.
func sameSpec(a, b sandbox.Spec) bool {
	bare := func(s sandbox.Spec) sandbox.Spec {
		s.Name, s.Stdout, s.Stderr, s.Forwards = "", nil, nil, nil
		return s
	}
	samePort := func(x, y sandbox.Forward) bool { return x.Port == y.Port }
	return reflect.DeepEqual(bare(a), bare(b)) && slices.EqualFunc(a.Forwards, b.Forwards, samePort)
}

// dirIDs identifies the mounts' host directories (zero for one that
// cannot be read: it then matches no directory that can).
func dirIDs(mounts []sandbox.Mount) []dirID {
	ids := make([]dirID, len(mounts))
	for i, mnt := range mounts {
		if fi, err := os.Stat(mnt.HostPath); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				ids[i] = dirID{dev: st.Dev, ino: st.Ino}
			}
		}
	}
	return ids
}
