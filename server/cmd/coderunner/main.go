// Command coderunner is CodeRunner's single binary.
//
//	coderunner serve [flags]   run the platform (see `coderunner serve -h`)
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
	"syscall"

	"github.com/coderunner/coderunner/server/api"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/manifest"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/store"
)

const usage = `usage: coderunner <command> [flags]

commands:
  serve    run the CodeRunner server (coderunner serve -h for flags)
`

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
	case manifest.Command:
		// Hidden: what a manifest deployment's sandbox runs.
		os.Exit(manifest.Main(os.Args[2:], os.Stderr))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
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
	logger.Info("starting coderunner", "config", cfg, "gogc", api.TuneGC(os.Getenv))

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
	defer db.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Deployment URLs carry the port actually listened on.
	cfg.Addr = ln.Addr().String()
	srv, err := api.New(cfg, db, logger, metrics.NewRegistry())
	if err != nil {
		ln.Close()
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "database", store.Dialect(db))
	return srv.Serve(ctx, ln)
}
