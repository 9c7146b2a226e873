package app

import "runtime/debug"

// ServerGCPercent is the collector's GOGC for `coderunner serve` unless
// the operator sets GOGC. The server's live heap is small while the router
// allocates a few KiB per proxied request, so at the default of 100 it
// collects many times a second under load, each cycle taking CPU from the
// requests in flight; 400 trades memory (about 5x the live heap) for fewer
// cycles. The README's measured figures show the effect. GOMEMLIMIT, when
// set, still caps the heap.
const ServerGCPercent = 400

// TuneGC applies ServerGCPercent unless GOGC is set, and returns the
// percentage in force.
func TuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		percent := debug.SetGCPercent(-1)
		debug.SetGCPercent(percent)
		return percent
	}
	debug.SetGCPercent(ServerGCPercent)
	return ServerGCPercent
}
