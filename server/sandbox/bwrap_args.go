package sandbox

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// bwrapFiles are the files bwrap is handed as ExtraFiles (fd 3 + index).
// The server closes its copies once bwrap has started (or failed to).
type bwrapFiles struct {
	extra  []*os.File
	closed bool
}

// add hands f to bwrap and returns its fd number there.
func (b *bwrapFiles) add(f *os.File) string {
	b.extra = append(b.extra, f)
	return strconv.Itoa(2 + len(b.extra))
}

// data hands bwrap a small generated file (for --ro-bind-data) as a pipe.
func (b *bwrapFiles) data(content string) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	_, err = io.WriteString(w, content) // far below the pipe's 64 KiB
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return "", err
	}
	return b.add(r), nil
}

// close closes the server's copies, once.
func (b *bwrapFiles) close() {
	if b.closed {
		return
	}
	b.closed = true
	for _, f := range b.extra {
		_ = f.Close()
	}
}

// bwrapArgs are bwrap's options for spec: namespaces, identity, the
// pipes, the environment, the file system (system dirs read-only, an
// allowlisted /etc plus generated files, /proc, /dev, /tmp, the mounts)
// and the working directory.
func bwrapArgs(spec Spec, uid, gid int, mounts []Mount, fds pipeFDs, files *bwrapFiles) ([]string, error) {
	hostname := hostnameFor(spec.Name)
	args := []string{
		"--unshare-user", "--uid", strconv.Itoa(uid), "--gid", strconv.Itoa(gid), "--disable-userns",
		"--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", hostname,
		"--die-with-parent", "--new-session",
		"--info-fd", fds.info, "--block-fd", fds.block, "--sync-fd", fds.sync,
		"--clearenv",
	}
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	args = append(args, systemDirArgs()...)
	args = append(args, "--dir", "/etc")
	for _, p := range etcAllowlist {
		args = append(args, "--ro-bind-try", p, p)
	}
	args = append(args, "--symlink", "/proc/self/mounts", "/etc/mtab")
	etc := generatedEtc(hostname, uid, gid, spec.Network)
	for _, name := range slices.Sorted(maps.Keys(etc)) {
		fd, err := files.data(etc[name])
		if err != nil {
			return nil, err
		}
		args = append(args, "--perms", "0444", "--ro-bind-data", fd, "/etc/"+name)
	}
	args = append(args,
		"--proc", "/proc",
		"--dev", "/dev",
		"--perms", "1777", "--tmpfs", "/tmp",
		"--symlink", "../tmp", "/var/tmp",
	)
	for _, m := range mounts {
		flag := "--ro-bind"
		if m.Writable {
			flag = "--bind"
		}
		args = append(args, flag, m.HostPath, m.SandboxPath)
	}
	workDir := spec.WorkDir
	if workDir == "" {
		workDir = "/"
	}
	return append(args, "--remount-ro", "/", "--chdir", workDir), nil
}

// systemDirArgs binds /usr read-only and mirrors the top-level system
// directories: on a usr-merged system (/bin -> usr/bin) as the same
// symlinks, otherwise as read-only binds.
func systemDirArgs() []string {
	args := []string{"--ro-bind", "/usr", "/usr"}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
			continue
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		case fi.IsDir():
			args = append(args, "--ro-bind", d, d)
		}
	}
	return args
}

// systemDirs are host directories never mounted writable (a writable
// mount is chowned to the sandbox uid).
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true,
	"/lib": true, "/lib64": true, "/opt": true, "/proc": true, "/root": true, "/run": true,
	"/sbin": true, "/srv": true, "/sys": true, "/tmp": true, "/usr": true, "/var": true,
}

// etcAllowlist is what the sandbox sees of the host's /etc (when present).
var etcAllowlist = []string{
	"/etc/alternatives", // Debian's /usr/bin/foo -> /etc/alternatives/foo
	"/etc/ca-certificates",
	"/etc/ca-certificates.conf",
	"/etc/crypto-policies",
	"/etc/debian_version",
	"/etc/gai.conf",
	"/etc/host.conf",
	"/etc/ld.so.cache",
	"/etc/ld.so.conf",
	"/etc/ld.so.conf.d",
	"/etc/localtime",
	"/etc/mime.types",
	"/etc/networks",
	"/etc/os-release",
	"/etc/pki",
	"/etc/protocols",
	"/etc/services",
	"/etc/shells",
	"/etc/ssl",
	"/etc/timezone",
}

// generatedEtc are the /etc files made for each sandbox: an account for
// the sandbox uid (tools like npm and whoami look it up), its hostname, and
// the resolver when it has network.
func generatedEtc(hostname string, uid, gid int, network bool) map[string]string {
	files := map[string]string{
		"passwd": fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:%d:%d:app:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", uid, gid),
		"group":  fmt.Sprintf("root:x:0:\napp:x:%d:\nnogroup:x:65534:\n", gid),
		"hosts":  fmt.Sprintf("127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname),
		// Only files and DNS: the host's may name NSS modules (systemd,
		// sss, ldap) that would try to reach daemons outside.
		"nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n",
		"hostname":      hostname + "\n",
	}
	if network {
		files["resolv.conf"] = "nameserver " + slirpDNS + "\n"
	}
	return files
}

// hostnameFor makes a valid hostname (63 characters of [a-z0-9-]) from a
// sandbox name.
func hostnameFor(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	h := strings.Trim(string(b), "-")
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		h = "sandbox"
	}
	return h
}
