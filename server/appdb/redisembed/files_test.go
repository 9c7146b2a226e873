package redisembed

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// checkFiles checks the layout Start promises: the password CodeRunner's
// and private, the data dir and the socket dir the server user's.
func checkFiles(t *testing.T, s *Server) {
	t.Helper()
	for _, f := range []struct {
		path string
		mode os.FileMode
		uid  int
	}{
		{filepath.Join(s.dir, passwordFileName), 0o600, os.Geteuid()},
		{s.dataDir, 0o700, s.user.UID()},
		{s.socketDir, 0o700, s.user.UID()},
		{filepath.Join(s.dataDir, aclFileName), 0o600, s.user.UID()},
		{filepath.Join(s.dataDir, configFileName), 0o600, s.user.UID()},
	} {
		info, err := os.Stat(f.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if st := info.Sys().(*syscall.Stat_t); info.Mode().Perm() != f.mode || int(st.Uid) != f.uid {
			t.Errorf("%s: mode %v uid %d, want %v uid %d", f.path, info.Mode().Perm(), st.Uid, f.mode, f.uid)
		}
	}
	wantDir := os.FileMode(0o700)
	if s.user.Switches() {
		wantDir = 0o711
	}
	if info, err := os.Stat(s.dir); err != nil || info.Mode().Perm() != wantDir {
		t.Errorf("Dir: %v, %v; want mode %v", info.Mode().Perm(), err, wantDir)
	}
	if pw := s.AdminPassword(); len(pw) != 43 || strings.ContainsAny(pw, "+/=") {
		t.Errorf("admin password %q is not 32 bytes of base64url", pw)
	}
	acl, err := os.ReadFile(filepath.Join(s.dataDir, aclFileName))
	if err != nil || !strings.HasPrefix(string(acl), defaultUser(s.AdminPassword())) {
		t.Errorf("users.acl: %v\n%s", err, acl)
	}
	if strings.Contains(string(acl), s.AdminPassword()) {
		t.Error("users.acl holds the admin password in the clear")
	}
}

// checkRunsAs checks that a root CodeRunner runs redis-server as the
// redis user, and any other as itself.
func checkRunsAs(t *testing.T, s *Server) {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid()) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var uid string
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid = strings.Fields(rest)[0]
		}
	}
	want := strconv.Itoa(os.Geteuid())
	if os.Geteuid() == 0 {
		if s.user.Name() != "redis" {
			t.Errorf("root runs redis-server as %q, want redis", s.user.Name())
		}
		want = strconv.Itoa(s.user.UID())
		if want == "0" {
			t.Error("redis-server runs as root")
		}
	}
	if uid != want {
		t.Errorf("redis-server runs as uid %s, want %s", uid, want)
	}
}
