package pgembed

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// quitGrace is how long an immediate shutdown (SIGQUIT) may take before
// the postmaster is killed.
const quitGrace = 5 * time.Second

// spec tells the Supervisor how to run postgres: a fast shutdown (SIGINT:
// sessions are cut, the data is checkpointed) to stop it, also when
// CodeRunner dies; an immediate one (SIGQUIT: recovery at the next start)
// when that takes too long.
func (c *Cluster) spec() embedded.Spec {
	return embedded.Spec{
		Name: "postgres", Closed: ErrClosed, User: c.user,
		Log: c.serverLog, Logger: c.logger,
		Command: c.command, Ping: c.ping,
		Stop: syscall.SIGINT, Kill: syscall.SIGQUIT, Grace: quitGrace,
	}
}

// command is postgres's command line. Where it listens is given there,
// which outranks postgresql.conf and ALTER SYSTEM: no TCP at all, and a
// socket only in the cluster's private dir.
func (c *Cluster) command() *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"),
		"-D", c.dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories="+quoteDirList(c.socketDir),
		"-c", "unix_socket_permissions=0700",
		"-c", "log_destination=stderr",
		"-c", "logging_collector=off",
		"-c", "log_line_prefix=", // parseLine reads the severity at the start
	)
	cmd.Dir = c.dataDir
	return cmd
}

// quoteDirList quotes a dir for a GUC that holds a comma-separated list,
// so a comma or space in the path stays part of it.
func quoteDirList(dir string) string {
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}

// ping connects as the admin, the one proof that the server is ready. A
// refused password is fatal: waiting will not change it.
func (c *Cluster) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.AdminURL())
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
			return embedded.Fatal(fmt.Errorf("postgres refuses the admin password kept in %s: %w", filepath.Join(c.dir, passwordFileName), err))
		}
		return err
	}
	return conn.Close(ctx)
}
