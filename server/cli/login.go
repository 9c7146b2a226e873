package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"connectrpc.com/connect"
	"golang.org/x/term"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

func login(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("login", "login [--server URL] [--email EMAIL] [--token TOKEN]\n\nAsks for your email and password (or takes an API token) and keeps the server URL and token in $XDG_CONFIG_HOME/coderunner/config.json (0600).", env.Stderr)
	server := fs.String("server", defaultServer, "the CodeRunner server's URL")
	token := fs.String("token", "", "an API token (crt_...) to use instead of email and password")
	email := fs.String("email", "", "your email (asked for when not given)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	creds := Credentials{Server: strings.TrimSuffix(*server, "/"), Token: *token}
	if creds.Token == "" {
		in := bufio.NewReader(env.Stdin)
		if *email == "" {
			fmt.Fprint(env.Stderr, "Email: ")
			*email = readLine(in)
		}
		fmt.Fprint(env.Stderr, "Password: ")
		password := readPassword(env, in)
		res, err := newClients(creds.Server, "").auth.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: *email, Password: password}))
		if err != nil {
			return err
		}
		creds.Token, creds.Email = res.Msg.GetToken(), res.Msg.GetUser().GetEmail()
	} else {
		// Check the token before keeping it.
		res, err := newClients(creds.Server, creds.Token).auth.Verify(ctx, connect.NewRequest(&coderunnerv1.VerifyRequest{}))
		if err != nil {
			return err
		}
		creds.Email = res.Msg.GetUser().GetEmail()
	}
	path, err := saveCredentials(env.Getenv, creds)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (saved in %s). Next: coderunner deploy DIR\n", creds.Server, creds.Email, path)
	return nil
}

func readLine(in *bufio.Reader) string {
	line, _ := in.ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

// readPassword reads without echo from a terminal, or a line from a pipe.
func readPassword(env Env, in *bufio.Reader) string {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, _ := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		return string(b)
	}
	return readLine(in)
}
