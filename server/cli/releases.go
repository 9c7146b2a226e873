package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// releasesCommand is `coderunner releases NAME|ID [--json]`.
func releasesCommand(ctx context.Context, env Env, args []string) error {
	d, c, asJSON, err := oneDeployment(ctx, env, "releases",
		"Lists a deployment's releases, newest first: what each deploy, redeploy,\nconfiguration change and rollback ran. `coderunner rollback` runs one again.", args)
	if err != nil {
		return err
	}
	all := &coderunnerv1.ListReleasesResponse{}
	req := &coderunnerv1.ListReleasesRequest{DeploymentId: d.GetId(), PageSize: 200}
	for {
		res, err := c.deployments.ListReleases(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		all.Releases = append(all.Releases, res.Msg.GetReleases()...)
		if req.PageToken = res.Msg.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if asJSON {
		return printJSON(env.Stdout, all)
	}
	printReleases(env.Stdout, all.Releases)
	return nil
}

// printReleases prints one line per release; "*" marks the current one,
// "pruned" the ones that can no longer be rolled back to.
func printReleases(w io.Writer, list []*coderunnerv1.Release) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tKIND\tDESCRIPTION\tSOURCE\tCONFIG\tBY\tCREATED")
	for _, r := range list {
		number := strconv.FormatInt(r.GetNumber(), 10)
		switch {
		case r.GetCurrent():
			number += " *"
		case !r.GetRollbackAvailable():
			number += " pruned"
		}
		source := strings.TrimPrefix(r.GetSourceDigest(), "sha256:")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.12s\t%s\t%s\t%s\n", number,
			strings.ToLower(strings.TrimPrefix(r.GetKind().String(), "RELEASE_KIND_")), r.GetDescription(),
			source, r.GetConfigVersion(), r.GetCreatedBy(), r.GetCreateTime().AsTime().Local().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
}

// rollbackCommand is `coderunner rollback NAME|ID RELEASE [--json]`.
func rollbackCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("rollback", "rollback NAME|ID RELEASE [--json]\n\n"+
		"Runs release RELEASE (a number from `coderunner releases`) again as a new release:\n"+
		"its source, build, env vars, limits and secret versions. Files the app wrote\n"+
		"and its databases are not rolled back, nor is the replica count.", env.Stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usageError(fs, "name one deployment and the release to roll back to")
	}
	number, err := strconv.ParseInt(rest[1], 10, 64)
	if err != nil || number <= 0 {
		return usageError(fs, "release %q is not a release number (1, 2, 3 …)", rest[1])
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, rest[0])
	if err != nil {
		return err
	}
	res, err := c.deployments.RollbackDeployment(ctx, connect.NewRequest(&coderunnerv1.RollbackDeploymentRequest{DeploymentId: d.GetId(), Release: number}))
	if err != nil {
		return err
	}
	after := res.Msg.GetDeployment()
	if *asJSON {
		return printJSON(env.Stdout, &coderunnerv1.GetDeploymentResponse{Deployment: after})
	}
	fmt.Fprintf(env.Stdout, "%s: rolling back to release %d as release %d (%s)\n", after.GetName(), number, after.GetRelease(), statusName(after.GetStatus()))
	return nil
}
