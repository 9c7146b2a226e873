// Package redisembed runs CodeRunner's own redis-server, in which each
// deployment that asks for Redis gets its own ACL user and key prefix. It
// uses the machine's redis-server binary (Debian's redis-server package)
// but never the machine's server: it lives in <data-dir>/redis, listens
// only on a unix socket in a private dir (port 0: nothing on TCP, so
// nothing reaches it on 127.0.0.1:6379), lets in only password logins, and
// is started with CodeRunner, supervised, and stopped on shutdown.
package redisembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// ErrClosed is Health's answer once Close has stopped the server.
var ErrClosed = errors.New("redis: server closed")

// The files and dirs under Options.Dir.
const (
	dataDirName      = "data"
	passwordFileName = "admin-password"
	socketFile       = "redis.sock"
)

// Options configure Start.
type Options struct {
	// Dir is the server's home, <data-dir>/redis; created if missing.
	Dir string
	// Binary is the redis-server program. Empty: redis-server from PATH,
	// else /usr/bin/redis-server.
	Binary string
	// Logger receives CodeRunner's messages about the server at Info and
	// redis-server's own log, mostly at Debug. Nil discards.
	Logger *slog.Logger
}

// Server is a running redis-server owned by this process.
type Server struct {
	dir, dataDir, socketDir, binary string
	password                        string
	user                            embedded.User
	logger                          *slog.Logger
	serverLog                       *embedded.Log
	sup                             *embedded.Supervisor
}

// Start prepares opts.Dir and starts the server; it returns once the
// server answers an authenticated PING. Layout: data/ (redis.conf, written
// at each start, the append-only files, dump.rdb and users.acl; owned by
// the user redis-server runs as, 0700), run/ (its socket dir, same owner)
// and admin-password (CodeRunner's user, 0600, made once). When CodeRunner
// is root, redis-server runs as the "redis" system user and Dir itself
// stays root's with mode 0711 (see embedded.MakeHome).
func Start(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	s, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	if s.binary, err = findBinary(opts.Binary); err != nil {
		return nil, err
	}
	if s.password, err = adminPassword(s.dir); err != nil {
		return nil, err
	}
	// An orphan may still write users.acl (ACL SAVE) or the AOF: it goes
	// before the files are rewritten.
	if err := s.stopOrphan(ctx); err != nil {
		return nil, err
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.writeACL(); err != nil {
		return nil, err
	}
	if s.sup, err = embedded.Supervise(ctx, s.spec()); err != nil {
		return nil, err
	}
	s.logger.Info("Redis started", "socket", s.Socket(), "user", s.user.Name(), "took", time.Since(began).Round(time.Millisecond))
	return s, nil
}

// prepare checks opts and makes Dir and its subdirs.
func prepare(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("redisembed: Options.Dir is empty")
	}
	h, err := embedded.MakeHome(embedded.HomeOptions{
		Dir: opts.Dir, User: serverUser, Logger: opts.Logger,
		SocketFile: socketFile, FallbackPrefix: "coderunner-redis-",
	})
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir: h.Dir, dataDir: filepath.Join(h.Dir, dataDirName), socketDir: h.SocketDir, user: h.User, logger: h.Logger,
		serverLog: embedded.NewLog(h.Logger.With("component", "redis"), parseLine),
	}
	if err := s.user.MkdirOwned(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("redis data dir: %w", err)
	}
	return s, nil
}

// serverUser picks the user redis-server runs as. redis-server would run
// as root, but a root CodeRunner hands it to the "redis" system user
// (created by the Debian package) so that a flaw in it does not give
// away the machine; any other CodeRunner runs it as itself.
func serverUser() (embedded.User, error) {
	u, err := embedded.ServerUser("redis")
	if err != nil {
		return embedded.User{}, fmt.Errorf("CodeRunner runs as root and runs redis-server as the \"redis\" system user, but %w: install the redis-server package (it creates the user) or run CodeRunner as an ordinary user", err)
	}
	return u, nil
}

// Socket is the server's unix socket; nothing listens on TCP.
func (s *Server) Socket() string { return filepath.Join(s.socketDir, socketFile) }

// AdminPassword is the password of the "default" user, which may do
// anything: CodeRunner logs in with it to manage apps' ACL users. Do not
// log it.
func (s *Server) AdminPassword() string { return s.password }

// Dial connects to the server's unix socket, for forwarders that give each
// app a connection without exposing the socket to it.
func (s *Server) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", s.Socket())
}

// Health is nil while the server is up and says why otherwise (starting,
// restarting after an unexpected exit, closed).
func (s *Server) Health() error { return s.sup.Health() }

// pid is the current redis-server's process id (tests kill it).
func (s *Server) pid() int { return s.sup.PID() }

// Close stops supervision and shuts the server down (SIGTERM: like
// SHUTDOWN, the append-only file is flushed and a snapshot saved) and
// waits. When ctx ends first it kills the server (SIGKILL: with
// appendfsync everysec the last two seconds of writes may be lost) and
// reports that.
// Close may be called more than once.
func (s *Server) Close(ctx context.Context) error {
	if s.sup.Close(ctx) {
		return fmt.Errorf("redis: shutdown did not finish in time (%w); it was killed and up to its last two seconds of writes may be lost", ctx.Err())
	}
	return nil
}
