package embedded

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// HomeOptions say where a server lives and as whom it runs.
type HomeOptions struct {
	// Dir is the server's home, made absolute.
	Dir string
	// User picks the user the server runs as (ServerUser with the
	// server's own advice when it is missing).
	User func() (User, error)
	// SocketFile and FallbackPrefix name the socket and, for a home too
	// deep for a unix socket path, its dir elsewhere (see SocketDir).
	SocketFile, FallbackPrefix string
	// Logger gets messages about the server; nil discards.
	Logger *slog.Logger
}

// Home is a server's home, made by MakeHome.
type Home struct {
	Dir, SocketDir string
	User           User
	Logger         *slog.Logger // never nil
}

// MakeHome creates a server's home dir and its socket dir. The home
// belongs to CodeRunner's user: 0700, or 0711 when the server runs as
// another user, who may then pass through it to its own subdirs but not
// read or replace CodeRunner's files there (the admin password). The
// socket dir belongs to the server's user, 0700.
func MakeHome(o HomeOptions) (Home, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return Home{}, err
	}
	h := Home{Dir: dir, Logger: o.Logger}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	if h.User, err = o.User(); err != nil {
		return Home{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Home{}, fmt.Errorf("create %s: %w", dir, err)
	}
	if h.User.Switches() {
		if err := os.Chmod(dir, 0o711); err != nil {
			return Home{}, err
		}
	}
	if err := h.User.CheckReach(dir); err != nil {
		return Home{}, err
	}
	var fallback bool
	h.SocketDir, fallback = SocketDir(dir, o.SocketFile, o.FallbackPrefix, os.Geteuid() == 0)
	if fallback {
		h.Logger.Info("the data dir's path is too long for a unix socket; using a private socket dir outside it", "socket_dir", h.SocketDir)
	}
	if err := h.User.MkdirOwned(h.SocketDir, 0o700); err != nil {
		return Home{}, fmt.Errorf("socket dir: %w", err)
	}
	return h, nil
}
