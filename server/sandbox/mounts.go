package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Preparing the host side of Spec.Mounts.
//
// bwrap runs unprivileged, as the sandbox uid (see local.go), so it opens
// mount sources with that uid's permissions: every parent directory of a
// HostPath must be searchable by it (mode o+x, e.g. 0711 or 0755), and a
// read-only mount must be readable by it. Writable mounts are chowned to
// the sandbox uid here, contents included, so that e.g. `npm install` can
// rewrite package-lock.json that the server unpacked as root.

// resolveMountSource resolves the symlinks in a mount source, refusing
// symlinks that root does not own. Every sandbox runs as the same uid, so a
// sandbox that could write inside a directory could otherwise plant a
// symlink there (dist -> ../../other-app) and have a later sandbox's mount
// show another sandbox's files, all of which that uid can read.
func resolveMountSource(path string) (string, error) {
	resolved := "/"
	// Not filepath.Clean first: "link/.." is the link target's parent.
	rest := strings.Split(path, "/")
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved) // resolved has no symlinks left
			continue
		}
		next := filepath.Join(resolved, part)
		var st unix.Stat_t
		if err := unix.Lstat(next, &st); err != nil {
			return "", fmt.Errorf("mount source %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			resolved = next
			continue
		}
		if st.Uid != 0 {
			return "", fmt.Errorf("mount source %s: %s is a symlink owned by uid %d, not root", path, next, st.Uid)
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("mount source %s: too many symlinks", path)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, nil
}

// checkMount verifies that the sandbox uid can reach host (the cleaned,
// symlink-free HostPath) and, for a read-only mount, read it; it returns an
// error that says which directory is in the way.
func checkMount(host string, writable bool, uid, gid int) error {
	var walk []string
	for p := filepath.Dir(host); ; p = filepath.Dir(p) {
		walk = append(walk, p)
		if p == "/" {
			break
		}
	}
	for _, p := range walk {
		if !permits(p, uid, gid, 1) {
			return fmt.Errorf("mount source %s: directory %s is not searchable by the sandbox uid %d (make it at least 0711)", host, p, uid)
		}
	}
	if !writable && !permits(host, uid, gid, 5) {
		return fmt.Errorf("read-only mount source %s is not readable by the sandbox uid %d (make it world-readable or owned by it)", host, uid)
	}
	return nil
}

// CheckHostDir reports whether sandboxes can reach mount sources below
// dir: dir and every directory above it must be searchable by a uid that
// owns none of them (each owner's sandboxes run as a uid of their own, so
// only the "other" bits count). The server checks its data dir at start-up
// with it, so that a data dir under a 0700 directory (such as /root, or one
// made by mktemp -d) stops the server with the fix named instead of failing
// every deployment later.
func CheckHostDir(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("data dir %s: %w", dir, err)
		}
		if st.Mode&0o001 == 0 {
			fix := "chmod o+x " + p
			if p == dir {
				fix = "chmod 0711 " + p
			}
			return fmt.Errorf("data dir %s cannot host sandboxes: %s is mode %04o, so the sandbox uids cannot reach it; run `%s`, or choose a --data-dir (CODERUNNER_DATA_DIR) whose parent directories are searchable by others", dir, p, st.Mode&0o7777, fix)
		}
		if p == "/" {
			return nil
		}
	}
}

// permits reports whether mode bits grant want (4 r, 2 w, 1 x) to uid/gid
// (with no supplementary groups, which the sandbox does not have).
func permits(path string, uid, gid int, want uint32) bool {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return false
	}
	perm := st.Mode & 0o777
	switch {
	case int(st.Uid) == uid:
		perm >>= 6
	case int(st.Gid) == gid:
		perm >>= 3
	}
	return perm&want == want
}

// chownTree gives dir and everything below it to uid:gid, skipping what
// already belongs to them. It works with directory fds and never follows
// symlinks (fchownat with AT_SYMLINK_NOFOLLOW, openat with O_NOFOLLOW), so
// a sandbox that wrote into this directory before cannot redirect the
// root-run chown elsewhere by swapping a directory for a symlink.
func chownTree(dir string, uid, gid int) error {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer func() { _ = syscall.Close(fd) }()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	if int(st.Uid) != uid || int(st.Gid) != gid {
		if err := syscall.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return chownChildren(fd, dir, uid, gid)
}

func chownChildren(dirfd int, path string, uid, gid int) error {
	// Read the names through a dup: os.File takes ownership of its fd.
	dup, err := syscall.Dup(dirfd)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), path)
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue
			}
			return fmt.Errorf("stat %s/%s: %w", path, name, err)
		}
		if int(st.Uid) != uid || int(st.Gid) != gid {
			if err := unix.Fchownat(dirfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, syscall.ENOENT) {
				return fmt.Errorf("chown %s/%s: %w", path, name, err)
			}
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			continue
		}
		child, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
				continue // changed under us; it is not ours to follow
			}
			return fmt.Errorf("opening %s/%s: %w", path, name, err)
		}
		err = chownChildren(child, path+"/"+name, uid, gid)
		_ = syscall.Close(child)
		if err != nil {
			return err
		}
	}
	return nil
}

// sortMounts orders mounts so that a directory is mounted before anything
// mounted inside it (/app before /app/node_modules); otherwise the outer
// mount would hide the inner one.
func sortMounts(mounts []Mount) []Mount {
	out := append([]Mount(nil), mounts...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i].SandboxPath, "/") < strings.Count(out[j].SandboxPath, "/")
	})
	return out
}
