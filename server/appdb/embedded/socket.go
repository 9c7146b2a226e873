package embedded

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// MaxSocketPath is the longest unix socket path Linux accepts:
// sizeof(sockaddr_un.sun_path) is 108 bytes including the final NUL.
const MaxSocketPath = 107

// SocketDir returns where a server whose home is dir puts its socket
// (named socketFile): <dir>/run, or, when that path would be too long for
// a unix socket (a deeply nested data dir), a short private dir named by
// prefix and a hash of dir, so that each server keeps its own. Root uses
// /run (not world-writable, so nobody can plant the dir first); other
// users the temp dir, where MkdirOwned refuses a dir that someone else
// created. fallback reports which was chosen.
func SocketDir(dir, socketFile, prefix string, root bool) (path string, fallback bool) {
	run := filepath.Join(dir, "run")
	if len(filepath.Join(run, socketFile)) <= MaxSocketPath {
		return run, false
	}
	sum := sha256.Sum256([]byte(dir))
	base := os.TempDir()
	if root {
		base = "/run"
	}
	return filepath.Join(base, prefix+hex.EncodeToString(sum[:8])), true
}
