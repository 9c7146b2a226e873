package orchestrator

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/secrets"
)

// SecretSource gives a deployment's secrets in plaintext. The orchestrator
// puts them only in its replicas' environment and in a masker, so no log
// line or status reason shows them.
type SecretSource interface {
	Secrets(ctx context.Context, deploymentID string) (map[string]string, error)
	// Shared gives what project id's deployments inherit: its plain
	// variables and its secrets in plaintext.
	Shared(ctx context.Context, projectID string) (env, secrets map[string]string, err error)
	// Versions gives the version of each of the deployment's secrets.
	Versions(ctx context.Context, deploymentID string) (map[string]int64, error)
	// Restore makes the deployment's secrets exactly those versions (a
	// rollback's); a version no longer kept is an error.
	Restore(ctx context.Context, deploymentID string, versions map[string]int64) error
	// Retain removes the versions of the deployment's secrets that are
	// neither current nor named by one of keep (the kept releases').
	Retain(ctx context.Context, deploymentID string, keep []map[string]int64) error
	// Forget removes a deleted deployment's secrets.
	Forget(ctx context.Context, deploymentID string) error
}

// loadSecrets reads d's configuration for the operation under ctx: the
// environment its replicas get and the masker of its lines, over every
// secret value in it. It fails the deployment if the secrets cannot be
// read: starting without them would run the app misconfigured.
func (m *Manager) loadSecrets(ctx context.Context, inst *instance, d *Deployment) bool {
	op := operationOf(ctx)
	if op == nil {
		return true
	}
	cfg, err := m.resolveConfig(ctx, d)
	if err != nil {
		m.fail(ctx, inst, err.Error())
		return false
	}
	op.env, op.forwards, op.masker = cfg.env, cfg.forwards, cfg.masker
	if cfg.masker != nil {
		inst.masker.Store(cfg.masker)
	}
	return true
}

// runConfig is what a deployment's replicas are started with beyond its
// build: their environment, the ports carried to attached services, and
// the masker over every secret value among them.
type runConfig struct {
	env      []string
	forwards []Forward
	masker   *secrets.Masker
}

// resolveConfig reads d's configuration as it is now: its own variables
// and secrets over what its project shares and what is attached to it.
func (m *Manager) resolveConfig(ctx context.Context, d *Deployment) (runConfig, error) {
	if m.cfg.Secrets == nil {
		return runConfig{env: layerEnv(d.Env)}, nil
	}
	own, err := m.cfg.Secrets.Secrets(ctx, d.ID)
	if err != nil {
		return runConfig{}, fmt.Errorf("cannot read the deployment's secrets: %w", err)
	}
	sharedEnv, shared, err := m.cfg.Secrets.Shared(ctx, d.ProjectID)
	if err != nil {
		return runConfig{}, fmt.Errorf("cannot read the project's shared configuration: %w", err)
	}
	attached := &Attachment{}
	if m.cfg.Attachments != nil {
		if attached, err = m.cfg.Attachments.Attached(ctx, d.ID); err != nil {
			return runConfig{}, fmt.Errorf("cannot reach the deployment's databases: %w", err)
		}
	}
	values := maps.Clone(shared)
	maps.Copy(values, attached.Secrets)
	maps.Copy(values, own)
	// A project secret the deployment overrides is masked all the same:
	// it is a secret wherever it shows up.
	// The deployment's own values win over what it inherits and what is
	// attached to it.
	return runConfig{
		env:      layerEnv(sharedEnv, shared, attached.Env, attached.Secrets, d.Env, own),
		forwards: attached.Forwards,
		masker:   secrets.NewMasker(values),
	}, nil
}

// layerEnv flattens layers of variables into NAME=value pairs, sorted by
// name; a later layer's value wins.
func layerEnv(layers ...map[string]string) []string {
	merged := map[string]string{}
	for _, layer := range layers {
		maps.Copy(merged, layer)
	}
	env := make([]string, 0, len(merged))
	for _, name := range slices.Sorted(maps.Keys(merged)) {
		env = append(env, name+"="+merged[name])
	}
	return env
}

// secretVersions returns the version of each of deployment id's secrets.
func (m *Manager) secretVersions(ctx context.Context, id string) (map[string]int64, error) {
	if m.cfg.Secrets == nil {
		return map[string]int64{}, nil
	}
	versions, err := m.cfg.Secrets.Versions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read the secret versions: %w", err)
	}
	return versions, nil
}

// envOf returns the environment of the operation under ctx's replicas.
func envOf(ctx context.Context) []string {
	if op := operationOf(ctx); op != nil {
		return op.env
	}
	return nil
}

// maskerFor returns the masker for lines of the operation under ctx, or,
// outside an operation (an action's own lines), the one of the
// deployment's latest operation. Nil masks nothing.
func (m *Manager) maskerFor(ctx context.Context, inst *instance) *secrets.Masker {
	if op := operationOf(ctx); op != nil && op.masker != nil {
		return op.masker
	}
	return inst.masker.Load()
}

// Reconfigure runs change on ownerID's deployment id under its lock, after
// the checks every action makes (it exists, is not deleted, runs here)
// and that no deploy is under way, stores the env change may have made
// with a new release, and restarts the deployment without downtime if it
// is running, so the change applies; what says what changed ("secret
// API_KEY set"). change runs in the transaction that stores the release:
// its writes, made through the context it is given, commit with it. A
// change that fails is returned and nothing is stored or restarted.
func (m *Manager) Reconfigure(ctx context.Context, ownerID, id, what string, change func(ctx context.Context, d *Deployment) error) (*Deployment, error) {
	return m.ReconfigureThen(ctx, ownerID, id, what, change, nil)
}

// ReconfigureThen is Reconfigure that also calls then once no replica
// runs with the configuration from before the change: served is true when
// the restart took over and the previous replicas have stopped (or the
// deployment was not running), false when the restart failed and the
// previous replicas serve on. then runs on its own goroutine when the
// deployment restarts; not at all if the change fails.
func (m *Manager) ReconfigureThen(ctx context.Context, ownerID, id, what string, change func(ctx context.Context, d *Deployment) error, then func(served bool)) (*Deployment, error) {
	d, err := m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if d.Status.inProgress() {
			// The operation under way may have read the configuration
			// already; a change now would apply at some later restart
			// without anyone knowing. Refused, it can be sent again.
			return nil, errs.New(errs.KindFailedPrecondition,
				"deployment %q is being deployed (%s); change its configuration once it is running, stopped or failed", d.Name, d.Status)
		}
		// The change, the release it makes and the deployment's new
		// release number commit together.
		err := m.store.InTx(ctx, func(ctx context.Context) error {
			env := maps.Clone(d.Env)
			if err := change(ctx, d); err != nil {
				return err
			}
			draft, err := m.configDraft(ctx, d, what)
			if err != nil {
				return err
			}
			columns := []string{}
			if !maps.Equal(env, d.Env) {
				columns = append(columns, "env")
			}
			if err := m.update(ctx, d, draft, columns...); err != nil {
				return fmt.Errorf("update deployment: %w", err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if d.Status != StatusRunning {
			if then != nil {
				then(true)
			}
			return d, nil
		}
		return m.replaceRunningThen(ctx, inst, d, what+"; restarting", then)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
