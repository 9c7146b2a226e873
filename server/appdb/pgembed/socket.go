package pgembed

import (
	"path/filepath"
	"strconv"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// port is the number in the socket's name (.s.PGSQL.<port>). Nothing
// listens on it over TCP (listen_addresses is empty), and the socket dir is
// private to the cluster, so the usual number cannot clash with the
// machine's own PostgreSQL on 127.0.0.1:5432.
const port = 5432

// socketFile is the name postgres gives its socket in the socket dir.
var socketFile = ".s.PGSQL." + strconv.Itoa(port)

func socketName(dir string) string {
	return filepath.Join(dir, socketFile)
}

// socketDir returns where the server puts its socket: <dir>/run, or a
// short private dir when that path is too long (see embedded.SocketDir).
func socketDir(dir string, root bool) (path string, fallback bool) {
	return embedded.SocketDir(dir, socketFile, "coderunner-pg-", root)
}
