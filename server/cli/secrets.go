package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/dotenv"
)

const secretsUsage = `secrets set NAME|ID KEY=VALUE...   set secrets (one restart for all)
       coderunner secrets set NAME|ID KEY            read KEY's value from stdin (keeps it out of shell history)
       coderunner secrets ls NAME|ID [--json]        list names and versions, never values
       coderunner secrets rm NAME|ID KEY             remove a secret

A running deployment restarts with the change, without downtime. Values
are masked as [secret:KEY] in its logs.`

func secretsCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("secrets", secretsUsage, env.Stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON (ls)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return usageError(fs, "say what to do (set, ls or rm) and to which deployment")
	}
	verb, ref, names := rest[0], rest[1], rest[2:]
	switch {
	case verb == "set" && len(names) > 0:
	case verb == "ls" && len(names) == 0:
	case verb == "rm" && len(names) == 1:
	default:
		return usageError(fs, "%s takes other arguments", strings.Join(rest, " "))
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, ref)
	if err != nil {
		return err
	}
	switch verb {
	case "set":
		return setSecrets(ctx, env, c, d, names)
	case "rm":
		if _, err := c.config.DeleteSecret(ctx, connect.NewRequest(&coderunnerv1.DeleteSecretRequest{
			Scope: &coderunnerv1.DeleteSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: names[0]})); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "removed %s from %s\n", names[0], d.GetName())
		return nil
	}
	res, err := c.config.ListSecrets(ctx, connect.NewRequest(&coderunnerv1.ListSecretsRequest{
		Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: d.GetId()}}))
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, res.Msg)
	}
	printSecrets(env.Stdout, d.GetName(), res.Msg.GetSecrets())
	return nil
}

// setSecrets sets KEY=VALUE pairs (all in one ImportConfig, so one
// restart), or one KEY whose value is read from stdin.
func setSecrets(ctx context.Context, env Env, c clients, d *coderunnerv1.Deployment, pairs []string) error {
	if len(pairs) == 1 && !strings.Contains(pairs[0], "=") {
		value, err := io.ReadAll(env.Stdin)
		if err != nil {
			return err
		}
		pairs[0] += "=" + strings.TrimSuffix(string(value), "\n")
	}
	var text strings.Builder
	for _, pair := range pairs {
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("%q is not KEY=VALUE", pair)
		}
		text.WriteString(dotenv.Line(name, value))
	}
	res, err := c.config.ImportConfig(ctx, connect.NewRequest(&coderunnerv1.ImportConfigRequest{
		DeploymentId: d.GetId(), Dotenv: text.String(), AsSecrets: true}))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "set %s on %s\n", strings.Join(res.Msg.GetNames(), ", "), d.GetName())
	return nil
}

func printSecrets(w io.Writer, deployment string, list []*coderunnerv1.Secret) {
	if len(list) == 0 {
		fmt.Fprintf(w, "%s has no secrets: coderunner secrets set %s KEY=VALUE\n", deployment, deployment)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tUPDATED\tBY")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.GetName(), s.GetVersion(), s.GetUpdatedAt().AsTime().Local().Format(time.RFC3339), s.GetUpdatedBy())
	}
	_ = tw.Flush()
}
