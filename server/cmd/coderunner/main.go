// Command coderunner is CodeRunner's single binary: the server and its
// command line client.
//
//	coderunner serve [flags]   run the platform (see `coderunner serve -h`)
//	coderunner rotate-secrets [flags]   seal every secret again with the current key
//	coderunner login|deploy|ls|status|logs|open|stop|start|restart|delete
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/coderunner/coderunner/server/app"
	"github.com/coderunner/coderunner/server/cli"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/manifest"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/store"
)

var usage = `usage: coderunner <command> [flags]   (coderunner <command> --help for its flags)

server:
  serve            run the CodeRunner server
  rotate-secrets   seal every secret again with CODERUNNER_SECRET_KEY (the old key in
                   CODERUNNER_SECRET_KEY_PREVIOUS); takes serve's --data-dir and --database-url

client (talks to a server through its API; start with login):
` + cli.Usage()

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		if err := serve(os.Args[2:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, "coderunner:", err)
			os.Exit(1)
		}
	case "rotate-secrets":
		if err := rotateSecrets(os.Args[2:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, "coderunner:", err)
			os.Exit(1)
		}
	case manifest.Command:
		// Hidden: what a manifest deployment's sandbox runs.
		os.Exit(manifest.Main(os.Args[2:], os.Stderr))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		if cli.Has(os.Args[1]) {
			os.Exit(cli.Main(os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
		}
		fmt.Fprintf(os.Stderr, "coderunner: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

func serve(args []string) error {
	cfg, err := config.Parse(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	logger.Info("starting coderunner", "config", cfg, "gogc", app.TuneGC(os.Getenv))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The data dir is needed with either database (readiness checks it;
	// deployments live in it), so it is made here, not only by SQLite. It is
	// 0711: the sandbox uid must traverse it to reach its own app and data
	// dirs, but may not list it; secrets inside are 0600.
	if err := os.MkdirAll(cfg.DataDir, 0o711); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o711); err != nil {
		return fmt.Errorf("data dir permissions: %w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	// Deployment URLs carry the port actually listened on.
	cfg.Addr = ln.Addr().String()
	srv, err := app.New(cfg, db, logger, metrics.NewRegistry(), app.WithServing(func() {
		fmt.Fprintf(os.Stderr, "CodeRunner is ready: open %s in a browser, or deploy from a terminal with `%s login --server %s`\n",
			dashboardURL(cfg.Addr), os.Args[0], strings.TrimSuffix(dashboardURL(cfg.Addr), "/"))
	}))
	if err != nil {
		_ = ln.Close()
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "database", store.Dialect(db), "data_dir", cfg.DataDir)
	return srv.Serve(ctx, ln)
}

// listen opens the server's port; a port in use gets one line that says
// how to choose another, since it is the first thing `make run` can hit.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %s is already in use (is another CodeRunner running?); choose another with CODERUNNER_ADDR, e.g. CODERUNNER_ADDR=:9090 make run, or --addr", portOf(addr))
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return addr
}

// dashboardURL is the URL a person on this machine opens for a listen
// address: a wildcard host becomes localhost.
func dashboardURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
