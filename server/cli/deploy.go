package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

func deploy(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("deploy", "deploy [DIR] [--name NAME] [--env KEY=VALUE ...]\n\nPacks DIR (default .) as a tar.gz, honouring .gitignore and .coderunnerignore and never sending node_modules/ or .git/, creates a deployment or redeploys an existing one (the one named by --name, else the one DIR/"+stateFile+" remembers), follows the build live and prints the URL.", env.Stderr)
	name := fs.String("name", "", "the deployment to create, or to redeploy if you have one of that name (default: the one this folder was deployed as, else the folder's name)")
	vars := envFlags{}
	fs.Var(vars, "env", "an environment variable KEY=VALUE for the app (repeatable); on a redeploy, merged into the current ones")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError(fs, "deploy one folder at a time")
	}
	dir := "."
	if len(rest) == 1 {
		dir = rest[0]
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return usageError(fs, "%s is not a folder", dir)
	}
	c, creds, err := session(env)
	if err != nil {
		return err
	}
	archive, files, err := pack(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "==> packed %d files (%s) from %s\n", files, sizeOf(len(archive)), dir)

	current, newName, err := target(ctx, env, c, dir, *name, creds.Server)
	if err != nil {
		return err
	}
	var d *coderunnerv1.Deployment
	var afterSeq int64
	if current != nil {
		if d, afterSeq, err = redeploy(ctx, c, current, archive, vars); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "==> redeploying %s as revision %d\n", d.GetName(), d.GetRevision())
	} else {
		res, err := c.deployments.CreateDeployment(ctx, connect.NewRequest(&coderunnerv1.CreateDeploymentRequest{Name: newName, Env: vars, Archive: archive}))
		if err != nil {
			return err
		}
		d = res.Msg.GetDeployment()
		fmt.Fprintf(env.Stderr, "==> created %s (%s)\n", d.GetName(), d.GetId())
	}
	if err := writeState(dir, folderState{ID: d.GetId(), Name: d.GetName(), Server: creds.Server}); err != nil {
		fmt.Fprintf(env.Stderr, "warning: cannot remember the deployment in %s: %v\n", filepath.Join(dir, stateFile), err)
	}
	return follow(ctx, env, c, d, afterSeq)
}

// target decides what a deploy of dir does: redeploy the deployment it
// returns, or, when that is nil, create one named newName.
// With --name, that is the caller's deployment of the name if there is
// one; without, the one dir/.coderunner.json remembers for this server;
// one deleted since is created anew under its name, and a folder never
// deployed takes the folder's name.
func target(ctx context.Context, env Env, c clients, dir, name, server string) (current *coderunnerv1.Deployment, newName string, err error) {
	if name != "" {
		d, err := resolve(ctx, c, name)
		if connect.CodeOf(err) == connect.CodeNotFound {
			return nil, name, nil
		}
		return d, "", err
	}
	state, _ := readState(dir)
	if state.ID == "" || state.Server != server {
		return nil, nameFor(filepath.Base(dir)), nil
	}
	res, err := c.deployments.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: state.ID}))
	if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
		return nil, "", err
	}
	// A deleted deployment is still read (DESTROYED) until it is purged.
	if err != nil || res.Msg.GetDeployment().GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_DESTROYED {
		fmt.Fprintf(env.Stderr, "==> %s no longer exists on %s; creating it anew\n", state.Name, server)
		return nil, state.Name, nil
	}
	return res.Msg.GetDeployment(), "", nil
}

// redeploy sends new source to the deployment current, after merging
// vars into its environment; it returns the deployment and the last log
// sequence number from before, so following shows only the new lines.
func redeploy(ctx context.Context, c clients, current *coderunnerv1.Deployment, archive []byte, vars envFlags) (*coderunnerv1.Deployment, int64, error) {
	id := current.GetId()
	var last int64
	err := streamLogs(ctx, c, &coderunnerv1.StreamLogsRequest{DeploymentId: id, Tail: 1}, func(e *coderunnerv1.LogEntry) { last = e.GetSeq() })
	if err != nil {
		return nil, 0, err
	}
	if len(vars) > 0 {
		env := current.GetEnv()
		if env == nil {
			env = map[string]string{}
		}
		for k, v := range vars {
			env[k] = v
		}
		req := &coderunnerv1.UpdateDeploymentRequest{Id: id, Env: env}
		req.UpdateMask = &fieldmaskpb.FieldMask{Paths: []string{"env"}}
		if _, err := c.deployments.UpdateDeployment(ctx, connect.NewRequest(req)); err != nil {
			return nil, 0, err
		}
	}
	res, err := c.deployments.RedeployDeployment(ctx, connect.NewRequest(&coderunnerv1.RedeployDeploymentRequest{Id: id, Archive: archive}))
	if err != nil {
		return nil, 0, err
	}
	return res.Msg.GetDeployment(), last, nil
}

func sizeOf(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
