package pgembed

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

// osUser is the operating-system user initdb and postgres run as.
// PostgreSQL refuses to run as root, so a root CodeRunner hands the cluster
// to the "postgres" system user (created by the Debian package); any other
// CodeRunner runs it as itself.
type osUser struct {
	name     string
	uid, gid int
	// cred switches to the user in the child; nil when CodeRunner already
	// is that user.
	cred *syscall.Credential
}

// clusterUser picks the user the cluster runs as.
func clusterUser() (osUser, error) {
	if os.Geteuid() != 0 {
		name := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		return osUser{name: name, uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return osUser{}, fmt.Errorf("CodeRunner runs as root, which PostgreSQL refuses, and there is no \"postgres\" system user to run the cluster as (%v): install the postgresql package (it creates the user) or run CodeRunner as an ordinary user", err)
	}
	uid, uidErr := strconv.Atoi(u.Uid)
	gid, gidErr := strconv.Atoi(u.Gid)
	if uidErr != nil || gidErr != nil || uid == 0 {
		return osUser{}, fmt.Errorf("the \"postgres\" system user has uid %q, gid %q: PostgreSQL needs an ordinary (non-root) user", u.Uid, u.Gid)
	}
	// Groups is empty, not nil: the child drops root's supplementary groups.
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	return osUser{name: u.Username, uid: uid, gid: gid, cred: cred}, nil
}

// sysProcAttr runs a child as u, in its own process group: a Ctrl-C in
// CodeRunner's terminal reaches CodeRunner, which then shuts postgres down
// in order, rather than reaching postgres directly.
func (u osUser) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: u.cred, Setpgid: true}
}

// switches reports whether children change to u (CodeRunner is root).
func (u osUser) switches() bool { return u.cred != nil }

// mkdirOwned creates dir with mode perm owned by u, or makes an existing
// dir so. A dir that exists and belongs to someone else is an error rather
// than silently taken over: it may be another user's data.
func (u osUser) mkdirOwned(dir string, perm fs.FileMode) error {
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
		if owner != os.Geteuid() || !u.switches() {
			return fmt.Errorf("%s belongs to uid %d, not to %s (uid %d) who runs the cluster", dir, owner, u.name, u.uid)
		}
		// Ours (root's), just created or left by an earlier attempt.
		if err := os.Lchown(dir, u.uid, u.gid); err != nil {
			return err
		}
	}
	return os.Chmod(dir, perm)
}

// writeOwned writes a file only u may read, owned by u.
func (u osUser) writeOwned(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	if u.switches() {
		return os.Lchown(path, u.uid, u.gid)
	}
	return nil
}

// checkReach returns a clear error if u cannot walk down to dir. When root
// hands the cluster to the postgres user, every parent of the data dir must
// be searchable by it (mode o+x, or its group); initdb's own message
// ("could not change directory ... Permission denied") does not say which
// parent is at fault. The child runs without supplementary groups, so the
// owner, the primary group and "other" are all that count.
func (u osUser) checkReach(dir string) error {
	if !u.switches() {
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
			return fmt.Errorf("the cluster runs as %s (uid %d), who cannot enter %s (mode %04o, owner uid %d): allow it with chmod o+x %s", u.name, u.uid, d, mode, st.Uid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
