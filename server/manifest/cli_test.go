package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMainDatabaseURL: manifest-serve takes PostgreSQL's URL from
// --database-url, else DATABASE_URL, and without either refuses a manifest
// that asks for PostgreSQL, saying how to add a database.
func TestMainDatabaseURL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(path, []byte(testDialects[1].src(blogYAML)), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--manifest", path, "--data", dir, "--addr", freeAddr(t)}
	// Nothing listens on port 1: the connection is refused at once.
	unreachable := "postgres://nobody@127.0.0.1:1/app?sslmode=disable"
	tests := []struct {
		name, env string
		flags     []string
		want      string
	}{
		{"unset", "", nil, "manifest-serve: " + ErrNoDatabaseURL.Error()},
		{"from the environment", unreachable, nil, "connect to postgres"},
		{"from the flag", "", []string{"--database-url", unreachable}, "connect to postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", tt.env)
			var stderr strings.Builder
			if code := Main(append(args, tt.flags...), &stderr); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.want)
			}
		})
	}
	if !strings.Contains(ErrNoDatabaseURL.Error(), "DATABASE_URL is unset): add one with `coderunner db create` or CreateDeployment databases") {
		t.Errorf("message: %v", ErrNoDatabaseURL)
	}
}
