// Package monitoring holds no code: it is CodeRunner's monitoring kit
// (prometheus.yml, alerts.yml and its promtool unit tests, the Grafana
// dashboard and provisioning, docker-compose.monitoring.yml) and the Go
// tests that check the kit against promtool, a real Prometheus and a live
// server's /metrics. See README.md in this directory.
package monitoring
