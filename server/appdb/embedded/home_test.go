package embedded

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSocketDir(t *testing.T) {
	short := "/var/lib/coderunner/redis"
	if got, fallback := SocketDir(short, "redis.sock", "coderunner-redis-", true); got != short+"/run" || fallback {
		t.Errorf("SocketDir(%q) = %q, %v", short, got, fallback)
	}
	long := "/" + strings.Repeat("d", 100) + "/redis"
	got, fallback := SocketDir(long, "redis.sock", "coderunner-redis-", true)
	if !fallback || !strings.HasPrefix(got, "/run/coderunner-redis-") || len(filepath.Join(got, "redis.sock")) > MaxSocketPath {
		t.Errorf("SocketDir(long) = %q, %v", got, fallback)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	u, err := ServerUser("nobody")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but: %v", err)
		}
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := u.WriteFileAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := u.WriteFileAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" || info.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", b, info.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); err == nil {
		t.Error("the temporary file is left")
	}
	if owner := fileOwner(t, path); owner != u.UID() {
		t.Errorf("owner uid %d, want %d", owner, u.UID())
	}
}

func fileOwner(t *testing.T, path string) int {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.Sys().(*syscall.Stat_t).Uid)
}
