package metrics

import (
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterLogCounters exports the log pipeline's totals, read from totals
// at scrape time (two atomic loads).
func RegisterLogCounters(reg prometheus.Registerer, totals func() (ingested, dropped int64)) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coderunner_log_lines_ingested_total",
			Help: "Log lines accepted for storage (apps' output and the platform's own lines).",
		}, func() float64 { n, _ := totals(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coderunner_log_lines_dropped_total",
			Help: "Log lines dropped because a deployment printed faster than they could be stored.",
		}, func() float64 { _, n := totals(); return float64(n) }),
	)
}

// NewReadyGauge registers coderunner_ready, which the server keeps at 1
// while its readiness checks pass (what /api/health reports) and 0 when not.
func NewReadyGauge(reg prometheus.Registerer) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coderunner_ready",
		Help: "1 when the server's readiness checks (database, data dir, sandbox driver) pass, else 0; refreshed every 10 s.",
	})
	reg.MustRegister(g)
	return g
}

// RequireToken guards next with a bearer token; an empty token leaves it
// open.
func RequireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <CODERUNNER_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
