package pgembed

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
)

// port is the number in the socket's name (.s.PGSQL.<port>). Nothing
// listens on it over TCP (listen_addresses is empty), and the socket dir is
// private to the cluster, so the usual number cannot clash with the
// machine's own PostgreSQL on 127.0.0.1:5432.
const port = 5432

// maxSocketPath is the longest unix socket path Linux accepts:
// sizeof(sockaddr_un.sun_path) is 108 bytes including the final NUL.
const maxSocketPath = 107

func socketName(dir string) string {
	return filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
}

// socketDir returns where the server puts its socket: <dir>/run, or, when
// that path would be too long for a unix socket (a deeply nested data
// dir), a short private dir named by a hash of dir, so that each cluster
// keeps its own. Root uses /run (not world-writable, so nobody can plant
// the dir first); other users the temp dir, where mkdirOwned refuses a dir
// that someone else created. fallback reports which was chosen.
func socketDir(dir string, root bool) (path string, fallback bool) {
	run := filepath.Join(dir, "run")
	if len(socketName(run)) <= maxSocketPath {
		return run, false
	}
	sum := sha256.Sum256([]byte(dir))
	base := os.TempDir()
	if root {
		base = "/run"
	}
	return filepath.Join(base, "coderunner-pg-"+hex.EncodeToString(sum[:8])), true
}
