// Package pgembed runs CodeRunner's own PostgreSQL cluster, in which each
// deployment gets its own database, when no external server is configured.
// It uses the machine's PostgreSQL binaries (Debian's postgresql package)
// but never the machine's server: the cluster lives in <data-dir>/postgres,
// listens only on a unix socket in a private dir (no TCP, so nothing
// reaches it on 127.0.0.1:5432), lets in only SCRAM password logins, and
// is started with CodeRunner, supervised, and stopped on shutdown.
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// ErrClosed is Health's answer once Close has stopped the cluster.
var ErrClosed = errors.New("postgres: cluster closed")

// Options configure Start.
type Options struct {
	// Dir is the cluster's home, <data-dir>/postgres; created if missing.
	Dir string
	// BinDir holds initdb and postgres. Empty: the Debian dir of the
	// cluster's version, else the newest /usr/lib/postgresql/*/bin, else
	// pg_config --bindir.
	BinDir string
	// Logger receives CodeRunner's messages about the cluster at Info and
	// postgres's own log, mostly at Debug. Nil discards.
	Logger *slog.Logger
}

// Cluster is a running PostgreSQL server owned by this process.
type Cluster struct {
	dir, dataDir, socketDir, binDir string
	password                        string
	user                            embedded.User
	logger                          *slog.Logger
	serverLog                       *embedded.Log
	sup                             *embedded.Supervisor
}

// Start initialises the cluster in opts.Dir on first use and starts it;
// it returns once the server accepts connections. Layout: data/ (the
// cluster, owned by the user postgres runs as, 0700), run/ (its socket
// dir, same owner) and admin-password (CodeRunner's user, 0600). When
// CodeRunner is root, postgres runs as the "postgres" system user and Dir
// itself stays root's with mode 0711 (see embedded.MakeHome).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	ok, err := initialised(c.dataDir)
	if err != nil {
		return nil, err
	}
	if c.binDir, err = findBinDir(ctx, opts.BinDir, dataVersion(c.dataDir)); err != nil {
		return nil, err
	}
	if ok {
		if c.password, err = readPassword(c.dir); err != nil {
			return nil, err
		}
		if err := c.checkDataOwner(); err != nil {
			return nil, err
		}
		if err := c.stopOrphan(ctx); err != nil {
			return nil, err
		}
	} else {
		c.logger.Info("creating the PostgreSQL cluster for app databases", "dir", c.dataDir, "bin", c.binDir)
		if c.password, err = c.initCluster(ctx); err != nil {
			return nil, err
		}
		c.logger.Info("PostgreSQL cluster created", "took", time.Since(began).Round(time.Millisecond))
	}
	if c.sup, err = embedded.Supervise(ctx, c.spec()); err != nil {
		return nil, err
	}
	if err := c.harden(ctx); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	c.logger.Info("PostgreSQL started", "socket", socketName(c.socketDir), "took", time.Since(began).Round(time.Millisecond))
	return c, nil
}

// prepare checks opts and makes Dir and its subdirs.
func prepare(opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgembed: Options.Dir is empty")
	}
	h, err := embedded.MakeHome(embedded.HomeOptions{
		Dir: opts.Dir, User: clusterUser, Logger: opts.Logger,
		SocketFile: socketFile, FallbackPrefix: "coderunner-pg-",
	})
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		dir: h.Dir, dataDir: filepath.Join(h.Dir, dataDirName), socketDir: h.SocketDir, user: h.User, logger: h.Logger,
		serverLog: embedded.NewLog(h.Logger.With("component", "postgres"), parseLine),
	}
	return c, nil
}

// checkDataOwner explains what postgres would only say as "data directory
// has wrong ownership", e.g. after CodeRunner moved from root to a user.
func (c *Cluster) checkDataOwner() error {
	return c.user.MkdirOwned(c.dataDir, 0o700)
}

// AdminURL is a libpq/pgx URL for the superuser over the unix socket, to
// the postgres database. It holds the password: do not log it.
func (c *Cluster) AdminURL() string { return c.adminURL("postgres") }

func (c *Cluster) adminURL(database string) string {
	q := url.Values{"host": {c.socketDir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(adminRole, c.password), Host: "", Path: "/" + database, RawQuery: q.Encode()}
	return u.String()
}

// SocketDir is the dir holding the server's socket (.s.PGSQL.<Port>).
func (c *Cluster) SocketDir() string { return c.socketDir }

// BinDir holds the cluster's programs, pg_dump and psql among them.
func (c *Cluster) BinDir() string { return c.binDir }

// Port is the number in the socket's name; nothing listens on TCP.
func (c *Cluster) Port() int { return port }

// Dial connects to the server's unix socket, for forwarders that give each
// app a connection without exposing the socket dir to it. Pass it as a pgx
// DialFunc (ignoring network and address) to log in as an app's role.
func (c *Cluster) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", socketName(c.socketDir))
}

// Health is nil while the server is up and says why otherwise (starting,
// restarting after an unexpected exit, closed).
func (c *Cluster) Health() error { return c.sup.Health() }

// pid is the current postmaster's process id (tests kill it).
func (c *Cluster) pid() int { return c.sup.PID() }

// Close stops supervision and shuts the server down fast (SIGINT: sessions
// end, data is checkpointed) and waits. When ctx ends first it escalates to
// an immediate shutdown (SIGQUIT, crash recovery at the next start) and
// then SIGKILL, and reports that. Close may be called more than once.
func (c *Cluster) Close(ctx context.Context) error {
	if c.sup.Close(ctx) {
		return fmt.Errorf("postgres: fast shutdown did not finish in time (%w); it was shut down immediately and will recover at the next start", ctx.Err())
	}
	return nil
}
