package config

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.DataDir != filepath.Join(wd, "data") || cfg.DatabaseURL != "" || cfg.AppsDomain != "localhost" {
		t.Errorf("defaults = %+v", cfg)
	}
	if cfg.SessionTTL != 7*24*time.Hour || cfg.LoginMaxFailures != 5 || cfg.LoginFailureWindow != 15*time.Minute {
		t.Errorf("auth defaults = %v %v %v", cfg.SessionTTL, cfg.LoginMaxFailures, cfg.LoginFailureWindow)
	}
	if cfg.UsesPostgres() {
		t.Error("default config uses PostgreSQL")
	}
	if !cfg.WarmWake {
		t.Error("warm wake is off by default")
	}
	off, err := Parse([]string{"--warm-wake=false"}, envOf(nil), io.Discard)
	if err != nil || off.WarmWake {
		t.Errorf("--warm-wake=false: %v, %v", off.WarmWake, err)
	}
}

// TestDataDirIsAbsolute: sandboxes mount paths below the data dir, and
// bwrap refuses relative mount sources, so a relative --data-dir is made
// absolute against the working directory once, at parse time.
func TestDataDirIsAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"data", "./data/", "../x/../data", "/abs/data"} {
		cfg, err := Parse([]string{"--data-dir", dir}, envOf(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(wd, dir)
		if filepath.IsAbs(dir) {
			want = filepath.Clean(dir)
		}
		if cfg.DataDir != want {
			t.Errorf("--data-dir %q: DataDir = %q, want %q", dir, cfg.DataDir, want)
		}
	}
}

func TestEnvAndFlags(t *testing.T) {
	env := envOf(map[string]string{
		"CODERUNNER_ADDR":        ":9000",
		"CODERUNNER_DATA_DIR":    "/var/lib/cr",
		"DATABASE_URL":           "postgres://u:p@db/cr",
		"CODERUNNER_APPS_DOMAIN": "Apps.Example.com",
		"CODERUNNER_JWT_SECRET":  strings.Repeat("s", 32),
	})
	cfg, err := Parse([]string{"--addr", ":7000"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":7000" {
		t.Errorf("flag did not win over env: addr %q", cfg.Addr)
	}
	if cfg.DataDir != "/var/lib/cr" || !cfg.UsesPostgres() || cfg.AppsDomain != "apps.example.com" || cfg.JWTSecret == "" {
		t.Errorf("env not applied: %+v", cfg)
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad duration", []string{"--session-ttl", "forever"}, nil, "--session-ttl"},
		{"negative duration", []string{"--shutdown-timeout", "-1s"}, nil, "--shutdown-timeout"},
		{"bad count", []string{"--login-max-failures", "0"}, nil, "--login-max-failures"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"bad boolean", []string{"--warm-wake", "maybe"}, nil, "--warm-wake"},
		{"mysql url", nil, map[string]string{"DATABASE_URL": "mysql://root:pw@db/x"}, "postgres://"},
		{"short secret", nil, map[string]string{"CODERUNNER_JWT_SECRET": "short"}, "at least 32"},
		{"stray argument", []string{"extra"}, nil, "unexpected argument"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, envOf(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestInvalidURLIsRedactedInError(t *testing.T) {
	_, err := Parse(nil, envOf(map[string]string{"DATABASE_URL": "mysql://root:hunter2@db/x"}), io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v leaks the password", err)
	}
}

func TestLogValueRedactsSecrets(t *testing.T) {
	cfg, err := Parse(nil, envOf(map[string]string{
		"DATABASE_URL":          "postgres://admin:hunter2@db:5432/cr",
		"CODERUNNER_JWT_SECRET": "jwt-secret-value-0123456789abcdef0123",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "config", cfg)
	logged := out.String()
	for _, secret := range []string{"hunter2", "jwt-secret-value"} {
		if strings.Contains(logged, secret) {
			t.Errorf("log line leaks %q: %s", secret, logged)
		}
	}
	for _, shown := range []string{"admin", "db:5432", "[redacted]"} {
		if !strings.Contains(logged, shown) {
			t.Errorf("log line lacks %q: %s", shown, logged)
		}
	}
}
