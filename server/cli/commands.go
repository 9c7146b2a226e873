package cli

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

func list(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("ls", "ls [--json]\n\nLists your deployments.", env.Stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	all := &coderunnerv1.ListDeploymentsResponse{}
	req := &coderunnerv1.ListDeploymentsRequest{PageSize: 100}
	for {
		res, err := c.deployments.ListDeployments(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		all.Deployments = append(all.Deployments, res.Msg.GetDeployments()...)
		if req.PageToken = res.Msg.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if *asJSON {
		return printJSON(env.Stdout, all)
	}
	if len(all.Deployments) == 0 {
		fmt.Fprintln(env.Stdout, "No deployments yet: coderunner deploy DIR")
		return nil
	}
	printTable(env.Stdout, all.Deployments)
	return nil
}

// oneDeployment parses `<cmd> NAME|ID` with --json and resolves it.
func oneDeployment(ctx context.Context, env Env, name, usage string, args []string) (*coderunnerv1.Deployment, clients, bool, error) {
	fs := newFlagSet(name, name+" NAME|ID [--json]\n\n"+usage, env.Stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return nil, clients{}, false, err
	}
	if len(rest) != 1 {
		return nil, clients{}, false, usageError(fs, "name one deployment (its name or id)")
	}
	c, _, err := session(env)
	if err != nil {
		return nil, c, false, err
	}
	d, err := resolve(ctx, c, rest[0])
	return d, c, *asJSON, err
}

func status(ctx context.Context, env Env, args []string) error {
	d, _, asJSON, err := oneDeployment(ctx, env, "status", "Shows a deployment's status, URL and revision.", args)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, &coderunnerv1.GetDeploymentResponse{Deployment: d})
	}
	printDeployment(env.Stdout, d)
	return nil
}

func open(ctx context.Context, env Env, args []string) error {
	d, _, asJSON, err := oneDeployment(ctx, env, "open", "Prints a deployment's URL.", args)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, &coderunnerv1.GetDeploymentResponse{Deployment: d})
	}
	fmt.Fprintln(env.Stdout, d.GetUrl())
	return nil
}

// action makes stop, start, restart and delete.
func action(verb string) func(context.Context, Env, []string) error {
	return func(ctx context.Context, env Env, args []string) error {
		d, c, asJSON, err := oneDeployment(ctx, env, verb, "Asks the server to "+verb+" the deployment.", args)
		if err != nil {
			return err
		}
		id := d.GetId()
		var after *coderunnerv1.Deployment
		switch verb {
		case "stop":
			res, err := c.deployments.StopDeployment(ctx, connect.NewRequest(&coderunnerv1.StopDeploymentRequest{Id: id}))
			if err != nil {
				return err
			}
			after = res.Msg.GetDeployment()
		case "start":
			res, err := c.deployments.StartDeployment(ctx, connect.NewRequest(&coderunnerv1.StartDeploymentRequest{Id: id}))
			if err != nil {
				return err
			}
			after = res.Msg.GetDeployment()
		case "restart":
			res, err := c.deployments.RestartDeployment(ctx, connect.NewRequest(&coderunnerv1.RestartDeploymentRequest{Id: id}))
			if err != nil {
				return err
			}
			after = res.Msg.GetDeployment()
		case "delete":
			if _, err := c.deployments.DeleteDeployment(ctx, connect.NewRequest(&coderunnerv1.DeleteDeploymentRequest{Id: id})); err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.Stdout, &coderunnerv1.DeleteDeploymentResponse{})
			}
			fmt.Fprintf(env.Stdout, "Deleted %s (%s)\n", d.GetName(), id)
			return nil
		}
		if asJSON {
			return printJSON(env.Stdout, &coderunnerv1.GetDeploymentResponse{Deployment: after})
		}
		fmt.Fprintf(env.Stdout, "%s: %s (%s)\n", after.GetName(), statusName(after.GetStatus()), after.GetStatusReason())
		return nil
	}
}
