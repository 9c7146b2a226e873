package cli

import (
	"context"
	"fmt"
	"regexp"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// resolve finds the caller's deployment by id or by exact name.
func resolve(ctx context.Context, c clients, ref string) (*coderunnerv1.Deployment, error) {
	if uuidPattern.MatchString(ref) {
		res, err := c.deployments.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: ref}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetDeployment(), nil
	}
	// The name filter matches substrings: page through for the exact name.
	req := &coderunnerv1.ListDeploymentsRequest{Name: ref, PageSize: 100}
	for {
		res, err := c.deployments.ListDeployments(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		for _, d := range res.Msg.GetDeployments() {
			if d.GetName() == ref {
				return d, nil
			}
		}
		if res.Msg.GetNextPageToken() == "" {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("you have no deployment named %q (coderunner ls lists them)", ref))
		}
		req.PageToken = res.Msg.GetNextPageToken()
	}
}

// session loads the credentials and makes the clients.
func session(env Env) (clients, Credentials, error) {
	creds, err := loadCredentials(env.Getenv)
	if err != nil {
		return clients{}, creds, err
	}
	return newClients(creds.Server, creds.Token), creds, nil
}
