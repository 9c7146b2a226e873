package redisembed

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// The orphan of a crashed CodeRunner gets orphanStopLimit to shut down
// (SIGTERM: flush the append-only file, save a snapshot) before it is
// killed; killGrace is all SIGKILL needs.
const (
	orphanStopLimit = 30 * time.Second
	killGrace       = time.Second
)

// spec tells the Supervisor how to run redis-server: SIGTERM to stop it
// (as SHUTDOWN does: the append-only file is flushed and a snapshot
// saved), also when CodeRunner dies; SIGKILL when that takes too long.
func (s *Server) spec() embedded.Spec {
	return embedded.Spec{
		Name: "redis", Closed: ErrClosed, User: s.user,
		Log: s.serverLog, Logger: s.logger,
		Command: s.command, Ping: s.ping,
		Stop: syscall.SIGTERM, Kill: syscall.SIGKILL, Grace: killGrace,
	}
}

// command runs redis-server on the redis.conf writeConfig wrote, in the
// data dir (where FindOrphan looks for it).
func (s *Server) command() *exec.Cmd {
	cmd := exec.Command(s.binary, filepath.Join(s.dataDir, configFileName))
	cmd.Dir = s.dataDir
	return cmd
}

// ping logs in as the admin and sends PING, the one proof that the
// server serves CodeRunner. A refused password is fatal: waiting will not
// change it.
func (s *Server) ping(ctx context.Context) error {
	c := s.client()
	defer func() { _ = c.Close() }()
	err := c.Ping(ctx).Err()
	if err != nil && (strings.HasPrefix(err.Error(), "WRONGPASS") || strings.HasPrefix(err.Error(), "NOPERM")) {
		return embedded.Fatal(fmt.Errorf("redis refuses the admin password kept in %s: %w", filepath.Join(s.dir, passwordFileName), err))
	}
	return err
}

// client is a one-connection admin client over the socket.
func (s *Server) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Network: "unix", Addr: s.Socket(),
		Dialer:   func(ctx context.Context, _, _ string) (net.Conn, error) { return s.Dial(ctx) },
		Username: "default", Password: s.password,
		PoolSize: 1, MaxRetries: -1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// stopOrphan stops a redis-server of this data dir that an earlier
// CodeRunner left running, so that the new one is our child, supervised,
// and alone with the files.
func (s *Server) stopOrphan(ctx context.Context) error {
	comm := filepath.Base(s.binary)
	comm = comm[:min(len(comm), 15)] // the kernel keeps 15 bytes of the name
	pid := embedded.FindOrphan(filepath.Join(s.dataDir, pidFileName), comm, s.dataDir)
	if pid == 0 {
		return nil
	}
	s.logger.Warn("stopping a redis-server left running on this data dir by an earlier run", "pid", pid)
	return embedded.StopOrphan(ctx, pid, syscall.SIGTERM, syscall.SIGKILL, orphanStopLimit, killGrace)
}
