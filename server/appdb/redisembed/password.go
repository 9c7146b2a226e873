package redisembed

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// adminPassword reads the admin password kept in dir, making it on first
// use: 32 random bytes, base64url. Unlike PostgreSQL's, a lost file is no
// disaster: writeACL gives the default user whatever password is current.
func adminPassword(dir string) (string, error) {
	path := filepath.Join(dir, passwordFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		if password := strings.TrimSpace(string(b)); password != "" {
			return password, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the Redis admin password: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	if err := embedded.WriteFileAtomic(path, []byte(password+"\n")); err != nil {
		return "", fmt.Errorf("keep the Redis admin password: %w", err)
	}
	return password, nil
}
