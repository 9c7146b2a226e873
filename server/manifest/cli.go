package manifest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Command is the name of the hidden `coderunner` subcommand that serves a
// manifest inside a deployment's sandbox.
const Command = "manifest-serve"

// Main runs `coderunner manifest-serve --manifest F --data D --addr A
// [--database-url U]` and returns the process exit code. It is what a
// manifest deployment's sandbox runs: the platform's own binary, so no npm
// and no network. A manifest with database: postgres uses the database at
// --database-url, by default $DATABASE_URL (which the platform sets for a
// deployment with a PostgreSQL database).
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("manifest", "manifest.yaml", "manifest file")
	dataDir := fs.String("data", "/data", "directory for manifest.db")
	addr := fs.String("addr", "0.0.0.0:3000", "listen address")
	databaseURL := fs.String("database-url", "", "PostgreSQL URL for a manifest with database: postgres (default $DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *databaseURL == "" {
		*databaseURL = os.Getenv("DATABASE_URL")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	content, err := os.ReadFile(*path)
	if err != nil {
		fmt.Fprintln(stderr, "manifest-serve:", err)
		return 1
	}
	m, diags := Parse(content)
	if len(diags) > 0 {
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Printf("serving manifest %q (%d entities) on %s\n", m.Name, len(m.Entities), *addr)
	if err := Serve(ctx, m, Storage{DataDir: *dataDir, DatabaseURL: *databaseURL}, *addr, logger); err != nil {
		fmt.Fprintln(stderr, "manifest-serve:", err)
		return 1
	}
	return 0
}
