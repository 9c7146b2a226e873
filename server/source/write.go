package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// WriteTo materialises t into dir, creating dir if missing: files get mode
// 0644, or 0755 when Executable, and directories 0755, whatever the umask.
// Whatever already exists in dir is left alone except the files of t, which
// are replaced (unlinked and created anew, so a pre-existing hard link is
// never written through). WriteTo refuses to follow any symlink inside dir:
// it fails if a directory or file of t already exists there as a symlink,
// and all access goes through an os.Root, so nothing outside dir is ever
// touched even if dir changes concurrently.
func WriteTo(t *Tree, dir string) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer func() { _ = root.Close() }()
	w := writer{root: root, dir: dir, dirs: make(map[string]bool)}
	for _, f := range t.Files {
		for i := 0; i < len(f.Path); i++ {
			if f.Path[i] == '/' {
				if err := w.mkdir(f.Path[:i]); err != nil {
					return err
				}
			}
		}
		if err := w.write(f); err != nil {
			return err
		}
	}
	return nil
}

type writer struct {
	root *os.Root
	dir  string
	dirs map[string]bool // directories known to be in place
}

func (w *writer) errorf(format string, args ...any) error {
	return fmt.Errorf("source: write into %s: "+format, append([]any{w.dir}, args...)...)
}

func (w *writer) mkdir(p string) error {
	if w.dirs[p] {
		return nil
	}
	fi, err := w.root.Lstat(p)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return w.errorf("refusing to follow the symlink %s", quote(p))
	case err == nil && !fi.IsDir():
		return w.errorf("%s exists and is not a directory", quote(p))
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if err := w.root.Mkdir(p, 0o755); err != nil {
			return w.errorf("%w", err)
		}
		if err := w.root.Chmod(p, 0o755); err != nil { // undo the umask
			return w.errorf("%w", err)
		}
	default:
		return w.errorf("%w", err)
	}
	w.dirs[p] = true
	return nil
}

func (w *writer) write(f File) error {
	fi, err := w.root.Lstat(f.Path)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return w.errorf("refusing to follow the symlink %s", quote(f.Path))
	case err == nil && !fi.Mode().IsRegular():
		return w.errorf("%s exists and is not a regular file", quote(f.Path))
	case err == nil:
		if err := w.root.Remove(f.Path); err != nil {
			return w.errorf("%w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return w.errorf("%w", err)
	}
	mode := fs.FileMode(fileMode(f))
	// O_EXCL: never open an existing file, and so never a symlink.
	out, err := w.root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return w.errorf("%w", err)
	}
	_, err = out.Write(f.Content)
	if err == nil {
		err = out.Chmod(mode) // undo the umask
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return w.errorf("%s: %w", quote(f.Path), err)
	}
	return nil
}
