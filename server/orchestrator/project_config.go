package orchestrator

import (
	"context"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
)

// ReconfigureProject applies a change to the configuration project
// projectID's deployments inherit: change stores it (its writes, made
// through the context it is given, commit together), then every
// deployment of the project gets a release saying what changed, and each
// running one restarts with it without downtime. It is refused while one
// of them is being deployed, as Reconfigure is: that deployment may have
// read the configuration already.
func (m *Manager) ReconfigureProject(ctx context.Context, ownerID, projectID, what string, change func(ctx context.Context) error) error {
	members, err := m.projectMembers(ctx, ownerID, projectID)
	if err != nil {
		return err
	}
	var busy []string
	for _, d := range members {
		if d.Status.inProgress() {
			busy = append(busy, d.Name)
		}
	}
	if len(busy) > 0 {
		return errs.New(errs.KindFailedPrecondition,
			"the project's %s being deployed; change the project's configuration once it is running, stopped or failed", describeBusy(busy))
	}
	if err := m.store.InTx(ctx, change); err != nil {
		return err
	}
	// The change is stored: a deployment that starts from now on runs
	// with it. What follows makes each one's release and restarts the
	// running ones; one that fails (it began deploying in between, or its
	// restart failed, which its events say) runs with the change at its
	// next start.
	for _, d := range members {
		if _, err := m.Reconfigure(ctx, ownerID, d.ID, what, func(context.Context, *Deployment) error { return nil }); err != nil {
			m.logger.Warn("apply a project's configuration change", "project", projectID, "deployment", d.ID, "error", err)
		}
	}
	return nil
}

// projectMembers returns every deployment (not deleted) of the project.
func (m *Manager) projectMembers(ctx context.Context, ownerID, projectID string) ([]Deployment, error) {
	const page = 200
	var all []Deployment
	for offset := 0; ; offset += page {
		list, total, _, err := m.List(ctx, ownerID, ListFilter{ProjectID: projectID}, offset, page)
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
		if len(list) < page || len(all) >= total {
			return all, nil
		}
	}
}

func describeBusy(names []string) string {
	if len(names) == 1 {
		return "deployment " + names[0] + " is"
	}
	return "deployments " + strings.Join(names, ", ") + " are"
}
