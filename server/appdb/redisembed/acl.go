package redisembed

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultUser is the ACL line of the admin: the "default" user, allowed
// everything, with the admin password (as its SHA-256, the form ACL files
// hold; the password itself never lands in the data dir).
func defaultUser(password string) string {
	sum := sha256.Sum256([]byte(password))
	return "user default on #" + hex.EncodeToString(sum[:]) + " ~* &* +@all"
}

// writeACL makes users.acl hold the default user with the current admin
// password. The first start writes just that line; later starts keep the
// rest of the file, the apps' users that CodeRunner added with ACL SETUSER
// and ACL SAVE, and replace only the default user's line, so that a
// password file made anew (or a default user someone changed) still lets
// CodeRunner in.
func (s *Server) writeACL() error {
	path := filepath.Join(s.dataDir, aclFileName)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := s.user.WriteFileAtomic(path, []byte(withDefaultUser(string(old), s.password))); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// withDefaultUser returns acl with its default user's line (if any)
// dropped and the current one first.
func withDefaultUser(acl, password string) string {
	lines := []string{defaultUser(password)}
	for line := range strings.Lines(acl) {
		line = strings.TrimRight(line, "\r\n")
		if f := strings.Fields(line); len(f) == 0 || (len(f) >= 2 && f[0] == "user" && f[1] == "default") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n") + "\n"
}
