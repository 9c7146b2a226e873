package redisembed

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// The files CodeRunner writes into the data dir, and the pid file
// redis-server writes there.
const (
	configFileName = "redis.conf"
	aclFileName    = "users.acl"
	pidFileName    = "redis.pid"
)

// fallbackBinary is where Debian's redis-server package puts the server,
// for when CodeRunner's PATH does not lead there.
const fallbackBinary = "/usr/bin/redis-server"

// findBinary returns the redis-server to run: explicit if set, else the
// one on PATH, else fallbackBinary. The path is absolute: the server runs
// in its data dir.
func findBinary(explicit string) (string, error) {
	if explicit != "" {
		path, err := exec.LookPath(explicit)
		if err != nil {
			return "", err
		}
		return filepath.Abs(path)
	}
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path, nil
	}
	if path, err := exec.LookPath(fallbackBinary); err == nil {
		return path, nil
	}
	return "", errors.New("redis-server is neither on PATH nor at " + fallbackBinary + ": install the redis-server package")
}

// config is redis.conf, written at each start so that an edit (or a
// CONFIG REWRITE) cannot open the server up: no TCP at all (port 0), a
// socket only CodeRunner's side can enter, users only from the ACL file,
// and no commands that change the server's own files or load code
// (DEBUG, MODULE, CONFIG SET of dir and the like). Everything is
// durable to the second (appendonly, fsync every second).
func (s *Server) config() string {
	lines := [][2]string{
		{"daemonize", "no"},
		{"port", "0"},
		{"unixsocket", quote(s.Socket())},
		{"unixsocketperm", "700"},
		{"protected-mode", "yes"},
		{"dir", quote(s.dataDir)},
		{"pidfile", quote(filepath.Join(s.dataDir, pidFileName))},
		{"aclfile", quote(filepath.Join(s.dataDir, aclFileName))},
		{"appendonly", "yes"},
		{"appendfsync", "everysec"},
		{"enable-debug-command", "no"},
		{"enable-module-command", "no"},
		{"enable-protected-configs", "no"},
		{"logfile", `""`}, // stdout, which the Supervisor relays to the log
		{"loglevel", "notice"},
	}
	var b strings.Builder
	b.WriteString("# Written by CodeRunner at each start; changes here are lost.\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s\n", l[0], l[1])
	}
	return b.String()
}

// quote makes a path one argument in redis.conf, which splits on spaces
// and reads backslash escapes inside double quotes.
func quote(path string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(path) + `"`
}

// writeConfig writes redis.conf, owned by the server's user.
func (s *Server) writeConfig() error {
	if err := s.user.WriteFileAtomic(filepath.Join(s.dataDir, configFileName), []byte(s.config())); err != nil {
		return fmt.Errorf("write redis.conf: %w", err)
	}
	return nil
}
