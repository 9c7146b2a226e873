package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

const envUsage = `env export NAME|ID [--json]             print the env vars (.env), secrets by name only
       coderunner env import NAME|ID FILE [--secrets]   read a .env file (- for stdin) into the env vars, or the secrets

An import applies whole, with one restart of a running deployment, or not at all.`

func envCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("env", envUsage, env.Stderr)
	asJSON := fs.Bool("json", false, "export as JSON")
	asSecrets := fs.Bool("secrets", false, "import as secrets")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 2 && rest[0] == "export":
	case len(rest) == 3 && rest[0] == "import":
	default:
		return usageError(fs, "%s takes other arguments", strings.Join(append([]string{"env"}, rest...), " "))
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, rest[1])
	if err != nil {
		return err
	}
	if rest[0] == "export" {
		format := coderunnerv1.ConfigFormat_CONFIG_FORMAT_DOTENV
		if *asJSON {
			format = coderunnerv1.ConfigFormat_CONFIG_FORMAT_JSON
		}
		res, err := c.config.ExportConfig(ctx, connect.NewRequest(&coderunnerv1.ExportConfigRequest{DeploymentId: d.GetId(), Format: format}))
		if err != nil {
			return err
		}
		fmt.Fprint(env.Stdout, res.Msg.GetContent())
		return nil
	}
	text, err := readInput(env, rest[2])
	if err != nil {
		return err
	}
	res, err := c.config.ImportConfig(ctx, connect.NewRequest(&coderunnerv1.ImportConfigRequest{DeploymentId: d.GetId(), Dotenv: text, AsSecrets: *asSecrets}))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %s into %s\n", strings.Join(res.Msg.GetNames(), ", "), d.GetName())
	return nil
}

// readInput reads a file, or stdin for "-".
func readInput(env Env, path string) (string, error) {
	if path == "-" {
		data, err := io.ReadAll(env.Stdin)
		return string(data), err
	}
	data, err := os.ReadFile(path)
	return string(data), err
}
