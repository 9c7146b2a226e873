package orchestrator

import (
	"context"
	"net"
)

// Attachment is what the services attached to a deployment (its
// databases) give its replicas: variables, the secret ones among them
// (masked in its lines like secrets), and TCP ports on the sandbox's
// 127.0.0.1 carried to those services.
type Attachment struct {
	Env      map[string]string
	Secrets  map[string]string
	Forwards []Forward
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
