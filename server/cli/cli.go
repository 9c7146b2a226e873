package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Env is what a command may use of the process it runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// command is one `coderunner <name>` subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"login", "log in and keep the server URL and token", login},
		{"deploy", "deploy a folder (create, or redeploy the one it was deployed as)", deploy},
		{"ls", "list your deployments", list},
		{"status", "show one deployment", status},
		{"logs", "print (and follow) a deployment's logs", logsCommand},
		{"open", "print a deployment's URL", open},
		{"stop", "stop a deployment", action("stop")},
		{"start", "start a stopped deployment", action("start")},
		{"restart", "restart a deployment without downtime", action("restart")},
		{"scale", "show or set a deployment's replicas or autoscale policy", scaleCommand},
		{"delete", "delete a deployment and its data", action("delete")},
		{"secrets", "set, list or remove a deployment's secrets", secretsCommand},
		{"env", "export or import a deployment's environment (.env)", envCommand},
		{"releases", "list a deployment's releases", releasesCommand},
		{"rollback", "run an earlier release again, without downtime", rollbackCommand},
		{"activity", "print (and follow) your audit log", activityCommand},
		{"db", "create, show or drop a deployment's PostgreSQL database", dbCommand},
	}
}

// Usage lists the client commands, for the binary's help.
func Usage() string {
	s := ""
	for _, c := range commands() {
		s += fmt.Sprintf("  %-8s %s\n", c.name, c.summary)
	}
	return s
}

// Has reports whether name is a client command.
func Has(name string) bool {
	for _, c := range commands() {
		if c.name == name {
			return true
		}
	}
	return false
}

// errFailed marks an error already printed (a deployment that FAILED):
// Main exits non-zero without printing it again.
var errFailed = errors.New("failed")

// Main runs the client command args[0] and returns the exit status: 0 on
// success, 1 when the command or the server said no, 2 for bad usage.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errFailed):
			return 1
		default:
			printError(env.Stderr, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "coderunner: unknown command %q\n", args[0])
	return 2
}

// errUsage is returned after a usage problem was printed.
var errUsage = errors.New("usage")

// usageError prints msg and the command's usage.
func usageError(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "coderunner %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}

// parse parses flags; a bad flag was printed by the flag package already.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	rest, err := parseFlags(fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, errUsage
	}
	return rest, err
}
