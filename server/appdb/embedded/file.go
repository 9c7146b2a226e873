package embedded

import (
	"os"
	"path/filepath"
)

// Env is the whole environment of a server and its tools: CodeRunner's
// own may hold secrets (database URLs, tokens) that they have no use for.
func Env() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"}
}

// WriteFileAtomic writes a 0600 file through a synced temporary file, so a
// crash leaves the old content or the new one, never a torn file.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, data, nil)
}

// WriteFileAtomic writes a 0600 file owned by u, as the package function
// does: a file the server reads, or also rewrites (Redis's ACL file).
func (u User) WriteFileAtomic(path string, data []byte) error {
	if !u.Switches() {
		return writeAtomic(path, data, nil)
	}
	return writeAtomic(path, data, func(f *os.File) error { return f.Chown(u.uid, u.gid) })
}

func writeAtomic(path string, data []byte, chown func(*os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if chown != nil {
		if err := chown(f); err != nil {
			_ = f.Close()
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes a rename or a new file in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	_ = d.Close()
	return err
}
