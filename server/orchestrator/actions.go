package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"

	"github.com/coderunner/coderunner/server/autoscale"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/manifest"
	"github.com/coderunner/coderunner/server/source"
	"github.com/google/uuid"
)

// CreateRequest is a new deployment. Exactly one of Files and Archive is set
// (the API schema guarantees it).
type CreateRequest struct {
	OwnerID       string
	ProjectID     string
	Name          string
	Runtime       appruntime.Name // empty: detect
	Files         []source.File
	Archive       []byte
	Env           map[string]string
	Replicas      int
	CPUMillicores int
	MemoryBytes   int64
	// Autoscale, when set, sets replicas from load (Replicas must be 0).
	Autoscale *autoscale.Policy
	// Prepare, when set, is told what the app's runtime needs attached
	// (appruntime.Plan.Databases) once the source is planned, and returns
	// attach, run in the transaction that stores the new deployment after
	// its row (what must exist before its first start: its databases),
	// and undo, run when the create fails after attach has run. An error
	// from either fails the create and nothing is stored.
	Prepare func(ctx context.Context, needs []string) (attach func(ctx context.Context, d *Deployment) error, undo func(), err error)
}

// readTree validates the source: every rejection happens here, before
// anything is written.
func (m *Manager) readTree(files []source.File, archive []byte) (*source.Tree, error) {
	if len(archive) > 0 {
		return source.FromArchive(archive, m.cfg.SourceLimits)
	}
	return source.FromFiles(files, m.cfg.SourceLimits)
}

// Create validates and stores the source, records the deployment as
// PENDING and starts deploying it in the background.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*Deployment, error) {
	tree, err := m.readTree(req.Files, req.Archive)
	if err != nil {
		return nil, err
	}
	rt := req.Runtime
	if rt == "" {
		if rt, err = appruntime.Detect(tree); err != nil {
			return nil, err
		}
	}
	plan, err := appruntime.PlanFor(rt, tree)
	if err != nil {
		return nil, err
	}
	if err := m.checkReplicas(req.Replicas); err != nil {
		return nil, err
	}
	var policy *autoscale.Policy
	if req.Autoscale != nil {
		if policy, err = m.resolvePolicy(req.Autoscale, req.Replicas > 0); err != nil {
			return nil, err
		}
	}
	count, err := m.store.CountLive(ctx, req.OwnerID)
	if err != nil {
		return nil, err
	}
	if count >= m.cfg.MaxDeploymentsPerUser {
		return nil, errs.New(errs.KindResourceExhausted,
			"you have %d deployments, the most allowed; delete one first", m.cfg.MaxDeploymentsPerUser)
	}
	var attach func(ctx context.Context, d *Deployment) error
	undo := func() {}
	if req.Prepare != nil {
		if attach, undo, err = req.Prepare(ctx, plan.Databases); err != nil {
			return nil, err
		}
	}
	digest, stored, err := m.storeSource(ctx, tree)
	if err != nil {
		undo()
		return nil, err
	}
	now := m.now()
	d := &Deployment{
		ID:            uuid.Must(uuid.NewV7()).String(),
		OwnerID:       req.OwnerID,
		ProjectID:     req.ProjectID,
		Name:          req.Name,
		Runtime:       string(rt),
		Status:        StatusPending,
		StatusReason:  "queued",
		Env:           req.Env,
		Replicas:      max(req.Replicas, 1),
		CPUMillicores: req.CPUMillicores,
		MemoryBytes:   req.MemoryBytes,
		SourceDigest:  digest,
		Revision:      1,
		Node:          m.cfg.Node,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if policy != nil {
		applyPolicy(d, policy)
	}
	if d.Env == nil {
		d.Env = map[string]string{}
	}
	draft := &releaseDraft{kind: ReleaseDeploy, description: "deployed", actor: req.OwnerID, buildKey: plan.CacheKey}
	err = m.insert(ctx, d, draft, attach)
	stored(err != nil)
	if err != nil {
		undo()
		return nil, err
	}
	inst := m.instanceFor(d)
	inst.mu.Lock()
	defer inst.mu.Unlock()
	m.launch(inst, func(ctx context.Context) { m.operate(ctx, inst, true) })
	return d, nil
}

// URL is where deployment d is served.
func (m *Manager) URL(d *Deployment) string {
	host := d.Slug + "." + m.cfg.AppsDomain
	if m.cfg.PublicPort != 80 && m.cfg.PublicPort != 0 {
		host += ":" + strconv.Itoa(m.cfg.PublicPort)
	}
	return "http://" + host + "/"
}

var errNotFound = errs.Field(errs.KindNotFound, "id", "deployment not found")

// Get returns ownerID's deployment id. Another user's deployment is
// NotFound, exactly like a missing one.
func (m *Manager) Get(ctx context.Context, ownerID, id string) (*Deployment, error) {
	d, err := m.store.GetOwned(ctx, ownerID, id)
	if errors.Is(err, ErrNoDeployment) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// List returns one page of ownerID's deployments, newest first, the total
// matching and the offset of the next page (0 when none).
func (m *Manager) List(ctx context.Context, ownerID string, f ListFilter, offset, limit int) ([]Deployment, int, int, error) {
	list, total, err := m.store.List(ctx, ownerID, f, offset, limit)
	if err != nil {
		return nil, 0, 0, err
	}
	next := 0
	if offset+len(list) < total {
		next = offset + len(list)
	}
	return list, total, next, nil
}

// act runs a lifecycle action on ownerID's deployment id under its lock.
func (m *Manager) act(ctx context.Context, ownerID, id string, action func(inst *instance, d *Deployment) (*Deployment, error)) (*Deployment, error) {
	d, err := m.Get(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	inst := m.instanceFor(d)
	inst.mu.Lock()
	defer inst.mu.Unlock()
	d, err = m.Get(ctx, ownerID, id) // re-read under the lock
	if err != nil {
		return nil, err
	}
	if d.Status == StatusDestroyed {
		return nil, errs.New(errs.KindFailedPrecondition, "deployment %q was deleted", d.Name)
	}
	if d.Node != "" && d.Node != m.cfg.Node {
		return nil, errs.New(errs.KindFailedPrecondition,
			"deployment %q runs on another CodeRunner server (node %s); send this request to that server", d.Name, d.Node)
	}
	// Prepared for the deployment as it was; the action may change it.
	inst.discardWarm()
	d, err = action(inst, d)
	if err == nil && d != nil && d.Status == StatusIdle {
		m.prepareWarm(ctx, inst, d)
	}
	return d, err
}

// Stop stops a deployment's processes (SIGTERM, grace period, SIGKILL).
func (m *Manager) Stop(ctx context.Context, ownerID, id string) (*Deployment, error) {
	return m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if d.Status == StatusStopped || d.Status == StatusFailed {
			return nil, errs.New(errs.KindFailedPrecondition, "deployment %q is not running (it is %s)", d.Name, d.Status)
		}
		inst.halt()
		m.say(ctx, inst, logs.Run, "stopped by owner")
		return m.transition(ctx, d.ID, StatusStopped, "stopped by owner")
	})
}

// Start starts a STOPPED, FAILED or IDLE deployment from its existing build
// (building first if there is none).
func (m *Manager) Start(ctx context.Context, ownerID, id string) (*Deployment, error) {
	return m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if d.Status != StatusStopped && d.Status != StatusFailed && d.Status != StatusIdle {
			return nil, errs.New(errs.KindFailedPrecondition, "deployment %q is already %s; use RestartDeployment to restart it", d.Name, d.Status)
		}
		inst.halt()
		d, err := m.transition(ctx, d.ID, StatusPending, "start requested")
		if err != nil {
			return nil, err
		}
		m.launch(inst, func(ctx context.Context) { m.operate(ctx, inst, false) })
		return d, nil
	})
}

// Restart starts a running deployment's replicas anew, keeping its build.
// The new replicas start beside the running ones, which serve until the
// new ones are ready and then drain, as in a redeploy.
func (m *Manager) Restart(ctx context.Context, ownerID, id string) (*Deployment, error) {
	return m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		if d.Status != StatusRunning {
			return nil, errs.New(errs.KindFailedPrecondition, "deployment %q is %s, not running; use StartDeployment", d.Name, d.Status)
		}
		return m.replaceRunning(ctx, inst, d, "restart requested", false, nil)
	})
}

// replaceRunning records PENDING with reason (and draft as the next
// release, when not nil) and launches an operation that replaces the
// running one (see replace). The running revision's source stays pinned
// until the replacement no longer needs it. The caller holds inst.mu.
func (m *Manager) replaceRunning(ctx context.Context, inst *instance, d *Deployment, reason string, rebuild bool, draft *releaseDraft, mutate ...func(*Deployment)) (*Deployment, error) {
	previous := inst.detach()
	previous.digest, previous.revision, previous.release = d.SourceDigest, d.Revision, d.Release
	previous.then = inst.afterHandover
	previous.unpin = m.pinSource(d.SourceDigest)
	d, err := m.transitionReleasing(ctx, d.ID, StatusPending, reason, draft, mutate...)
	if err != nil {
		// Nothing was recorded: the running revision serves on, as if
		// the action had not been asked for.
		previous.unpin()
		inst.resume(previous)
		return nil, err
	}
	previous.nextDigest = d.SourceDigest
	m.launch(inst, func(ctx context.Context) { m.replace(ctx, inst, rebuild, previous) })
	return d, nil
}

// replaceRunningThen is a configuration change's replaceRunning whose
// then learns how the handover ended (see ReconfigureThen).
func (m *Manager) replaceRunningThen(ctx context.Context, inst *instance, d *Deployment, reason string, then func(served bool)) (*Deployment, error) {
	inst.afterHandover = then
	defer func() { inst.afterHandover = nil }()
	return m.replaceRunning(ctx, inst, d, reason, false, nil)
}

// Redeploy rebuilds from new source (when given) or the stored one. A
// source the new one replaces is removed unless another deployment uses it.
func (m *Manager) Redeploy(ctx context.Context, ownerID, id string, files []source.File, archive []byte) (*Deployment, error) {
	var digest, buildKey, replaced string
	stored := func(bool) {}
	if len(files) > 0 || len(archive) > 0 {
		tree, err := m.readTree(files, archive)
		if err != nil {
			return nil, err
		}
		d, err := m.Get(ctx, ownerID, id)
		if err != nil {
			return nil, err
		}
		plan, err := appruntime.PlanFor(appruntime.Name(d.Runtime), tree)
		if err != nil {
			return nil, err
		}
		buildKey = plan.CacheKey
		if err := m.checkNeeds(ctx, d.ID, plan.Databases); err != nil {
			return nil, err
		}
		if appruntime.Name(d.Runtime) == appruntime.Manifest {
			// Apply the data migration before anything stops: a change that
			// cannot be applied safely is refused here, and the running
			// version and its data stay as they are.
			if err := m.migrateManifest(ctx, d, tree); err != nil {
				return nil, err
			}
		}
		if digest, stored, err = m.storeSource(ctx, tree); err != nil {
			return nil, err
		}
	}
	d, err := m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		// A running revision keeps serving while the new one builds; the
		// new operation stops it once its own replicas serve. Anything else
		// (a build or a start in progress) stops now.
		previous := d.SourceDigest
		bump := func(d *Deployment) {
			d.Revision++
			if digest != "" {
				d.SourceDigest = digest
			}
		}
		draft, err := m.redeployDraft(ctx, d, digest, buildKey)
		if err != nil {
			return nil, err
		}
		wasRunning := d.Status == StatusRunning
		if wasRunning {
			d, err = m.replaceRunning(ctx, inst, d, "redeploy requested", true, draft, bump)
		} else {
			inst.halt()
			if d, err = m.transitionReleasing(ctx, d.ID, StatusPending, "redeploy requested", draft, bump); err == nil {
				m.launch(inst, func(ctx context.Context) { m.operate(ctx, inst, true) })
			}
		}
		if err != nil {
			return nil, err
		}
		// A running revision's source is released by the operation that
		// replaces it, once it no longer may fall back to it.
		if previous != d.SourceDigest && !wasRunning {
			replaced = previous
		}
		return d, nil
	})
	stored(err != nil)
	m.releaseSources(context.WithoutCancel(ctx), replaced)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// redeployDraft is the release a redeploy of d to digest, whose build is
// buildKey, makes; digest "" keeps d's source and build.
func (m *Manager) redeployDraft(ctx context.Context, d *Deployment, digest, buildKey string) (*releaseDraft, error) {
	draft, err := m.configDraft(ctx, d, "redeployed from its stored source")
	if err != nil {
		return nil, err
	}
	draft.kind = ReleaseRedeploy
	if digest != "" {
		draft.description, draft.buildKey = "redeployed from new source", buildKey
	}
	return draft, nil
}

// UpdateRequest changes configuration; nil fields stay as they are.
type UpdateRequest struct {
	Env           map[string]string
	SetEnv        bool
	Replicas      *int
	CPUMillicores *int
	MemoryBytes   *int64
	// SetAutoscale sets Autoscale as the policy; nil removes it.
	SetAutoscale bool
	Autoscale    *autoscale.Policy
}

// Update changes configuration and restarts a running deployment to apply
// it, without downtime (see Restart).
func (m *Manager) Update(ctx context.Context, ownerID, id string, req UpdateRequest) (*Deployment, error) {
	d, err := m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		env, cpu, memory, replicas := maps.Clone(d.Env), d.CPUMillicores, d.MemoryBytes, d.Replicas
		if req.SetEnv {
			d.Env = req.Env
			if d.Env == nil {
				d.Env = map[string]string{}
			}
		}
		var policyChange string
		if req.Replicas != nil {
			if err := m.checkReplicas(*req.Replicas); err != nil {
				return nil, err
			}
			if policy := d.Autoscale; (req.SetAutoscale && req.Autoscale != nil) || (!req.SetAutoscale && policy != nil) {
				return nil, errs.Field(errs.KindInvalidArgument, "replicas", "replicas is set by the deployment's autoscale policy: remove the policy (update_mask autoscale with no autoscale) to set it")
			}
			d.Replicas = max(*req.Replicas, 1)
		}
		if req.SetAutoscale {
			policy := req.Autoscale
			if policy != nil {
				var err error
				if policy, err = m.resolvePolicy(policy, false); err != nil {
					return nil, err
				}
			}
			policyChange = applyPolicy(d, policy)
		}
		if req.CPUMillicores != nil {
			d.CPUMillicores = *req.CPUMillicores
		}
		if req.MemoryBytes != nil {
			d.MemoryBytes = *req.MemoryBytes
		}
		// The replica count is scale, not configuration: it makes no
		// release, and a rollback leaves it as it is.
		var draft *releaseDraft
		if what := configChange(env, d.Env, cpu != d.CPUMillicores || memory != d.MemoryBytes); what != "" {
			var err error
			if draft, err = m.configDraft(ctx, d, what); err != nil {
				return nil, err
			}
		}
		if err := m.update(ctx, d, draft, "env", "replicas", "cpu_millicores", "memory_bytes", "autoscale"); err != nil {
			return nil, fmt.Errorf("update deployment: %w", err)
		}
		inst.desired.Store(int64(d.Replicas))
		inst.policy.Store(d.Autoscale)
		if d.Status != StatusRunning {
			return d, nil
		}
		if draft == nil {
			// Only the count or the policy changed: scale in place, no
			// restart.
			reason := "replicas set by owner"
			if policyChange != "" {
				reason = policyChange
			}
			if d.Replicas == replicas {
				if policyChange == "" {
					return d, nil
				}
				return m.transition(ctx, d.ID, d.Status, policyChange)
			}
			inst.setDesired(d.Replicas)
			return m.transition(ctx, d.ID, d.Status, fmt.Sprintf("scaled %d → %d: %s", replicas, d.Replicas, reason))
		}
		return m.replaceRunning(ctx, inst, d, "configuration changed; restarting", false, nil)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Delete stops everything, removes the app and data dirs, frees the slug
// and marks the deployment DESTROYED (the row stays for history). Its
// stored source is removed unless another deployment uses it.
func (m *Manager) Delete(ctx context.Context, ownerID, id string) error {
	var digest string
	_, err := m.act(ctx, ownerID, id, func(inst *instance, d *Deployment) (*Deployment, error) {
		digest = d.SourceDigest
		inst.halt()
		if err := os.RemoveAll(m.deploymentDir(d.ID)); err != nil {
			return nil, fmt.Errorf("remove deployment files: %w", err)
		}
		d, err := m.transition(ctx, d.ID, StatusDestroyed, "deleted by owner")
		if err != nil {
			return nil, err
		}
		if m.cfg.Secrets != nil {
			if err := m.cfg.Secrets.Forget(context.WithoutCancel(ctx), d.ID); err != nil {
				m.logger.Error("forget a deleted deployment's secrets", "deployment", d.ID, "error", err)
			}
		}
		if m.cfg.Attachments != nil {
			// Its replicas are stopped: its databases go with it.
			if err := m.cfg.Attachments.Forget(context.WithoutCancel(ctx), d.ID); err != nil {
				m.logger.Error("drop a deleted deployment's databases", "deployment", d.ID, "error", err)
			}
		}
		m.forget(inst)
		m.logs.Forget(d.ID)
		m.cfg.Metrics.Forget(d.ID)
		return d, nil
	})
	if err == nil {
		m.releaseSources(context.WithoutCancel(ctx), digest)
		m.collectModules(context.WithoutCancel(ctx), ownerID)
	}
	return err
}

// Events returns one page of a deployment's events, newest first.
func (m *Manager) Events(ctx context.Context, ownerID, id string, offset, limit int) ([]Event, int, error) {
	if _, err := m.Get(ctx, ownerID, id); err != nil {
		return nil, 0, err
	}
	events, err := m.store.Events(ctx, id, offset, limit+1)
	if err != nil {
		return nil, 0, err
	}
	events, next := page(events, offset, limit)
	return events, next, nil
}

// page cuts list, read with one row more than limit from offset, to limit
// rows, and returns the offset of the next page (0 when none).
func page[T any](list []T, offset, limit int) ([]T, int) {
	if len(list) > limit {
		return list[:limit], offset + limit
	}
	return list, 0
}

// migrateManifest migrates deployment d's data to the manifest in tree.
func (m *Manager) migrateManifest(ctx context.Context, d *Deployment, tree *source.Tree) error {
	next, err := appruntime.ParseManifest(tree)
	if err != nil {
		return err
	}
	db, err := m.manifestData(ctx, d, next)
	if err != nil || db == nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if err := manifest.Migrate(ctx, db, next); err != nil {
		var unsafe *manifest.MigrationError
		if errors.As(err, &unsafe) {
			return errs.Field(errs.KindFailedPrecondition, "files", "%s; the running version and its data are unchanged", err.Error())
		}
		return fmt.Errorf("migrate the deployment's data: %w", err)
	}
	return nil
}

// CountByStatus counts deployments by status, DESTROYED ones excluded:
// ownerID's, or with ownerID empty, those this server runs.
func (m *Manager) CountByStatus(ctx context.Context, ownerID string) ([]StatusCount, error) {
	return m.store.CountByStatus(ctx, ownerID, m.cfg.Node)
}

// IDs lists the ids of ownerID's deployments, DESTROYED ones excluded.
func (m *Manager) IDs(ctx context.Context, ownerID string) ([]string, error) {
	return m.store.IDs(ctx, ownerID)
}
