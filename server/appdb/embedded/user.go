package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// User is the operating-system user a server runs as. A root CodeRunner
// hands each server to its own system user (created by the distribution's
// package), so that a compromised server is not root; any other CodeRunner
// runs it as itself.
type User struct {
	name     string
	uid, gid int
	// cred switches to the user in the child; nil when CodeRunner already
	// is that user.
	cred *syscall.Credential
}

// ServerUser picks the user a server runs as: the system user named
// system when CodeRunner is root, else CodeRunner's own user. The error
// names the missing or unfit user; callers add how to get one.
func ServerUser(system string) (User, error) {
	if os.Geteuid() != 0 {
		name := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		return User{name: name, uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup(system)
	if err != nil {
		return User{}, fmt.Errorf("there is no %q system user (%w)", system, err)
	}
	uid, uidErr := strconv.Atoi(u.Uid)
	gid, gidErr := strconv.Atoi(u.Gid)
	if uidErr != nil || gidErr != nil || uid == 0 {
		return User{}, fmt.Errorf("the %q system user has uid %q, gid %q: it must be an ordinary (non-root) user", system, u.Uid, u.Gid)
	}
	// Groups is empty, not nil: the child drops root's supplementary groups.
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	return User{name: u.Username, uid: uid, gid: gid, cred: cred}, nil
}

// Name is the user's login name (its uid when it has none).
func (u User) Name() string { return u.name }

// UID is the user's id.
func (u User) UID() int { return u.uid }

// SysProcAttr runs a child as u, in its own process group: a Ctrl-C in
// CodeRunner's terminal reaches CodeRunner, which then shuts the server
// down in order, rather than reaching the server directly.
func (u User) SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: u.cred, Setpgid: true}
}

// Switches reports whether children change to u (CodeRunner is root).
func (u User) Switches() bool { return u.cred != nil }

// MkdirOwned creates dir with mode perm owned by u, or makes an existing
// dir so. A dir that exists and belongs to someone else is an error rather
// than silently taken over: it may be another user's data.
func (u User) MkdirOwned(dir string, perm fs.FileMode) error {
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	owner := int(info.Sys().(*syscall.Stat_t).Uid)
	if owner != u.uid {
		if owner != os.Geteuid() || !u.Switches() {
			return fmt.Errorf("%s belongs to uid %d, not to %s (uid %d) who runs the server", dir, owner, u.name, u.uid)
		}
		// Ours (root's), just created or left by an earlier attempt.
		if err := os.Lchown(dir, u.uid, u.gid); err != nil {
			return err
		}
	}
	return os.Chmod(dir, perm)
}

// WriteOwned writes a file only u may read, owned by u.
func (u User) WriteOwned(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	if u.Switches() {
		return os.Lchown(path, u.uid, u.gid)
	}
	return nil
}

// CheckReach returns a clear error if u cannot walk down to dir. When root
// hands a server to its system user, every parent of the server's dir
// must be searchable by it (mode o+x, or its group); the server's own
// message ("Permission denied") does not say which parent is at fault. The
// child runs without supplementary groups, so the owner, the primary group
// and "other" are all that count.
func (u User) CheckReach(dir string) error {
	if !u.Switches() {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		mode := info.Mode().Perm()
		var ok bool
		switch {
		case int(st.Uid) == u.uid:
			ok = mode&0o100 != 0
		case int(st.Gid) == u.gid:
			ok = mode&0o010 != 0
		default:
			ok = mode&0o001 != 0
		}
		if !ok {
			return fmt.Errorf("the server runs as %s (uid %d), who cannot enter %s (mode %04o, owner uid %d): allow it with chmod o+x %s", u.name, u.uid, d, mode, st.Uid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
