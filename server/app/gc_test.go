package app_test

import (
	"runtime/debug"
	"testing"

	"github.com/coderunner/coderunner/server/app"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := app.TuneGC(getenv); got != app.ServerGCPercent {
		t.Fatalf("GOGC unset: tuneGC = %d, want %d", got, app.ServerGCPercent)
	}
	if now := debug.SetGCPercent(100); now != app.ServerGCPercent {
		t.Fatalf("GOGC unset: the runtime's GOGC is %d, want %d", now, app.ServerGCPercent)
	}

	// An operator's GOGC (already applied by the runtime at start-up) wins.
	env["GOGC"] = "150"
	debug.SetGCPercent(150)
	if got := app.TuneGC(getenv); got != 150 {
		t.Fatalf("GOGC=150: tuneGC = %d, want 150", got)
	}
	if now := debug.SetGCPercent(100); now != 150 {
		t.Fatalf("GOGC=150: the runtime's GOGC is %d, want it left at 150", now)
	}
}
