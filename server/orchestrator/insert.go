package orchestrator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/google/uuid"
)

// insert stores a new deployment with a fresh slug, its first event and
// its first release, and runs attach (when set) in the same transaction.
func (m *Manager) insert(ctx context.Context, d *Deployment, draft *releaseDraft, attach func(context.Context, *Deployment) error) error {
	event := &Event{ID: uuid.Must(uuid.NewV7()).String(), DeploymentID: d.ID, Status: d.Status, Reason: d.StatusReason, CreatedAt: d.CreatedAt}
	release := draft.stamp(d, d.CreatedAt)
	audit.SetTarget(ctx, "deployment", d.ID)
	for attempt := 0; ; attempt++ {
		d.Slug = d.Name + "-" + randomSuffix()
		err := m.store.InTx(ctx, func(ctx context.Context) error {
			if err := m.store.Create(ctx, d, event, release); err != nil || attach == nil {
				return err
			}
			return attach(ctx, d)
		})
		if err == nil {
			break
		}
		if errors.Is(err, ErrNameTaken) {
			return errs.Field(errs.KindAlreadyExists, "name", "you already have a deployment named %q", d.Name)
		}
		var domain *errs.Error
		if errors.As(err, &domain) {
			return err // attach's
		}
		if !errors.Is(err, ErrSlugTaken) || attempt == 5 {
			return fmt.Errorf("insert deployment: %w", err)
		}
	}
	m.publish(Change{Event: *event, Deployment: *d})
	m.announce(ctx, event.ID)
	return nil
}

// randomSuffix makes slugs unique and unguessable enough that one user
// cannot predict another's URL.
func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
