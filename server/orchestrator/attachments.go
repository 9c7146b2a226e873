package orchestrator

import (
	"context"
	"net"
	"slices"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/sandbox"
)

// Attachment is what the services attached to a deployment (its
// databases) give its replicas: variables, the secret ones among them
// (masked in its lines like secrets), and TCP ports on the sandbox's
// 127.0.0.1 carried to those services.
type Attachment struct {
	Env      map[string]string
	Secrets  map[string]string
	Forwards []Forward
	// Kinds names what is attached (database engines: "postgres").
	Kinds []string
}

// Forward is a port on a replica's 127.0.0.1 whose connections Dial
// carries, from the host, to an attached service.
type Forward struct {
	Port int
	Dial func(ctx context.Context) (net.Conn, error)
}

// AttachmentSource gives what is attached to a deployment, read as each
// operation begins.
type AttachmentSource interface {
	Attached(ctx context.Context, deploymentID string) (*Attachment, error)
	// Forget removes what a deleted deployment had attached.
	Forget(ctx context.Context, deploymentID string) error
}

// forwardsOf returns the sandbox forwards of the operation under ctx's
// replicas: the ports of the services attached to the deployment.
func forwardsOf(ctx context.Context) []sandbox.Forward {
	op := operationOf(ctx)
	if op == nil {
		return nil
	}
	out := make([]sandbox.Forward, len(op.forwards))
	for i, f := range op.forwards {
		out[i] = sandbox.Forward{Port: f.Port, Dial: f.Dial}
	}
	return out
}

// checkNeeds refuses a source whose runtime needs something deployment id
// lacks (a manifest's database: postgres with no PostgreSQL database).
func (m *Manager) checkNeeds(ctx context.Context, id string, needs []string) error {
	if len(needs) == 0 {
		return nil
	}
	var have []string
	if m.cfg.Attachments != nil {
		a, err := m.cfg.Attachments.Attached(ctx, id)
		if err != nil {
			return err
		}
		have = a.Kinds
	}
	for _, n := range needs {
		if !slices.Contains(have, n) {
			return errs.Field(errs.KindFailedPrecondition, "files",
				"the app needs a %s database and the deployment has none: create one first (CreateDatabase, or coderunner db create)", n)
		}
	}
	return nil
}
