package pgembed

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/appdb/embedded"
	"github.com/coderunner/coderunner/server/appdb/embedded/embeddedtest"
)

func TestSocketDir(t *testing.T) {
	short := "/var/lib/coderunner/postgres"
	if got, fallback := socketDir(short, true); got != short+"/run" || fallback {
		t.Errorf("socketDir(%q) = %q, %v", short, got, fallback)
	}
	long := "/" + strings.Repeat("d", 100) + "/postgres"
	got, fallback := socketDir(long, true)
	if !fallback || !strings.HasPrefix(got, "/run/coderunner-pg-") || len(socketName(got)) > embedded.MaxSocketPath {
		t.Errorf("socketDir(long) = %q, %v", got, fallback)
	}
	if other, _ := socketDir(long+"2", true); other == got {
		t.Error("two long dirs share a socket dir")
	}
	if again, _ := socketDir(long, true); again != got {
		t.Error("the fallback is not stable across starts")
	}
	if user, _ := socketDir(long, false); !strings.HasPrefix(user, os.TempDir()) {
		t.Errorf("non-root fallback %q is not in the temp dir", user)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"9.6", "10", true}, {"10", "9.6", false}, {"15", "16", true}, {"16", "15", false}, {"15", "15", false}} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestLogLevel(t *testing.T) {
	for line, want := range map[string]slog.Level{
		"LOG:  checkpoint starting: time":                       slog.LevelDebug,
		"FATAL:  password authentication failed for user \"x\"": slog.LevelWarn,
		"WARNING:  could not flush":                             slog.LevelWarn,
		"ERROR:  relation \"x\" does not exist":                 slog.LevelInfo,
		"PANIC:  could not write to file":                       slog.LevelError,
		"\tcontinuation: with a colon":                          slog.LevelDebug,
	} {
		severity, _, _ := strings.Cut(line, ":")
		if strings.ContainsAny(severity, " \t") {
			severity = ""
		}
		if got := logLevel(severity); got != want {
			t.Errorf("%q: level %v, want %v", line, got, want)
		}
	}
}

func TestCheckReach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	u, err := clusterUser()
	if err != nil {
		embeddedtest.SkipOutsideCI(t, err)
	}
	closed := t.TempDir() // under a 0700 dir of root's
	err = u.CheckReach(closed)
	if err == nil || !strings.Contains(err.Error(), "chmod o+x /tmp/") {
		t.Errorf("checkReach under a 0700 dir: %v", err)
	}
}
