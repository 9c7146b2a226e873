package redisembed

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/appdb/embedded/embeddedtest"
)

func TestWithDefaultUser(t *testing.T) {
	saved := "user app on sanitize-payload #abc ~app:* resetchannels +@all\n" +
		"user default on sanitize-payload #old ~* &* +@all\n" +
		"user other off\n"
	got := withDefaultUser(saved, "pw")
	want := defaultUser("pw") + "\n" +
		"user app on sanitize-payload #abc ~app:* resetchannels +@all\n" +
		"user other off\n"
	if got != want {
		t.Errorf("withDefaultUser =\n%s\nwant\n%s", got, want)
	}
	if first := withDefaultUser("", "pw"); first != defaultUser("pw")+"\n" {
		t.Errorf("first start: %q", first)
	}
	if !strings.HasPrefix(defaultUser("pw"), "user default on #") || strings.Contains(defaultUser("pw"), " pw") {
		t.Errorf("defaultUser = %q", defaultUser("pw"))
	}
}

func TestParseLine(t *testing.T) {
	for line, want := range map[string]slog.Level{
		"7165:M 07 Dec 2026 12:33:32.966 * The server is now ready to accept connections at /x.sock": slog.LevelDebug,
		"7165:C 07 Dec 2026 12:33:32.956 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo":            slog.LevelDebug,
		"7165:M 07 Dec 2026 12:33:32.965 # WARNING Memory overcommit must be enabled!":               slog.LevelWarn,
		"7165:M 07 Dec 2026 12:33:32.965 # Can't open the append-only file: Permission denied":       slog.LevelWarn,
		"7165:M 07 Dec 2026 12:33:32.965 - Accepted connection":                                      slog.LevelDebug,
		"*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***":                                             slog.LevelWarn,
		"22874:signal-handler (1796647339) Received SIGTERM scheduling shutdown...":                  slog.LevelDebug,
		"22874:signal-handler (1796647339) Something odd":                                            slog.LevelWarn,
	} {
		if got, _, _ := parseLine(line); got != want {
			t.Errorf("%q: level %v, want %v", line, got, want)
		}
	}
	if _, msg, _ := parseLine("1:M 07 Dec 2026 12:33:32.966 * Ready now"); msg != "Ready now" {
		t.Errorf("message %q", msg)
	}
}

func TestQuote(t *testing.T) {
	if got := quote(`/a b/c"d\e`); got != `"/a b/c\"d\\e"` {
		t.Errorf("quote = %s", got)
	}
}

func TestFindBinary(t *testing.T) {
	if _, err := findBinary("/nonexistent/redis-server"); err == nil {
		t.Error("a missing explicit binary was accepted")
	}
	path, err := findBinary("")
	if err != nil {
		embeddedtest.SkipOutsideCI(t, err)
	}
	t.Chdir(filepath.Dir(path))
	if got, err := findBinary("./" + filepath.Base(path)); err != nil || got != path {
		t.Errorf("findBinary(relative) = %q, %v; want %q", got, err, path)
	}
}
