// Package health answers "is this server alive" (/health: the process
// serves HTTP, nothing else is checked) and "is it ready" (/api/health and
// grpc.health.v1: the database answers, the data dir is writable and the
// sandbox driver works).
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/uptrace/bun"
)

// Status of one check or of the whole server.
type Status string

// The statuses, best first.
const (
	StatusOK       Status = "ok"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
)

// Check is the result of one readiness check.
type Check struct {
	Status Status `json:"status"`
	// Detail says what was measured or what went wrong.
	Detail string `json:"detail,omitempty"`
	// LatencyMS is the database round-trip time.
	LatencyMS *float64 `json:"latency_ms,omitempty"`
	// FreeBytes is the free space in the data dir's file system.
	FreeBytes *uint64 `json:"free_bytes,omitempty"`
}

// Report is the /api/health body.
type Report struct {
	Status Status           `json:"status"`
	Checks map[string]Check `json:"checks"`
	Time   time.Time        `json:"time"`
}

// lowDiskBytes is the free space below which the data dir is degraded.
const lowDiskBytes = 512 << 20

// Checker runs the readiness checks.
type Checker struct {
	db      bun.IDB
	dataDir string
	// sandboxProbe returns nil if sandboxes can be created. The result is
	// cached: it does not change while the server runs, and a probe forks.
	sandboxProbe func(context.Context) error
	// services are the gRPC service names health checks may ask about.
	services map[string]bool

	// optional are checks of parts some apps need (the servers apps'
	// databases live on), by name: an error makes the server degraded,
	// not down (apps without them run on).
	optional map[string]func(context.Context) (string, error)

	mu          sync.Mutex
	sandboxErr  error
	sandboxTime time.Time
}

// NewChecker returns a Checker for db and dataDir that probes the sandbox
// driver with sandboxProbe (the driver's Check). services are the gRPC
// services the server hosts, for grpc.health.v1 requests that name one.
func NewChecker(db bun.IDB, dataDir string, sandboxProbe func(context.Context) error, services ...string) *Checker {
	known := map[string]bool{"": true}
	for _, s := range services {
		known[s] = true
	}
	return &Checker{db: db, dataDir: dataDir, sandboxProbe: sandboxProbe, services: known}
}

// AddOptional adds a check named name of a part some apps need: it says
// what the part is, and an error makes the report degraded.
func (c *Checker) AddOptional(name string, check func(context.Context) (string, error)) {
	if c.optional == nil {
		c.optional = map[string]func(context.Context) (string, error){}
	}
	c.optional[name] = check
}

// Run performs every check.
func (c *Checker) Run(ctx context.Context) Report {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	report := Report{Status: StatusOK, Time: time.Now().UTC(), Checks: map[string]Check{
		"database": c.checkDatabase(ctx),
		"data_dir": c.checkDataDir(),
		"sandbox":  c.checkSandbox(ctx),
	}}
	for name, run := range c.optional {
		detail, err := run(ctx)
		check := Check{Status: StatusOK, Detail: detail}
		if err != nil {
			check = Check{Status: StatusDegraded, Detail: detail + ": " + err.Error()}
		}
		report.Checks[name] = check
	}
	for _, check := range report.Checks {
		switch {
		case check.Status == StatusDown:
			report.Status = StatusDown
		case check.Status == StatusDegraded && report.Status == StatusOK:
			report.Status = StatusDegraded
		}
	}
	return report
}

func (c *Checker) checkDatabase(ctx context.Context) Check {
	start := time.Now()
	var one int
	err := c.db.NewSelect().ColumnExpr("1").Scan(ctx, &one)
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return Check{Status: StatusDown, Detail: "database query failed: " + err.Error()}
	}
	return Check{Status: StatusOK, Detail: c.db.Dialect().Name().String(), LatencyMS: &ms}
}

func (c *Checker) checkDataDir() Check {
	f, err := os.CreateTemp(c.dataDir, ".health-*")
	if err != nil {
		return Check{Status: StatusDown, Detail: "data dir not writable: " + err.Error()}
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	var fs syscall.Statfs_t
	if err := syscall.Statfs(c.dataDir, &fs); err != nil {
		return Check{Status: StatusDegraded, Detail: "cannot read free space: " + err.Error()}
	}
	free := fs.Bavail * uint64(fs.Bsize)
	check := Check{Status: StatusOK, Detail: filepath.Clean(c.dataDir), FreeBytes: &free}
	if free < lowDiskBytes {
		check.Status = StatusDegraded
		check.Detail = fmt.Sprintf("less than %d MiB free in %s", lowDiskBytes>>20, check.Detail)
	}
	return check
}

func (c *Checker) checkSandbox(ctx context.Context) Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sandboxTime.IsZero() || time.Since(c.sandboxTime) > time.Minute {
		c.sandboxErr = c.sandboxProbe(ctx)
		c.sandboxTime = time.Now()
	}
	if c.sandboxErr != nil {
		return Check{Status: StatusDown, Detail: c.sandboxErr.Error()}
	}
	return Check{Status: StatusOK, Detail: "sandboxes can be started"}
}

// LiveHandler serves /health: 200 whenever the process can answer.
func LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

// ReadyHandler serves /api/health: the report as JSON, 503 when down.
func (c *Checker) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report := c.Run(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if report.Status == StatusDown {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(report)
	})
}

// Check implements grpchealth.Checker with the same checks: SERVING unless
// a check is down. Any service name this server hosts, or "" for the whole
// server, may be asked about.
func (c *Checker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if !c.services[req.Service] {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	if c.Run(ctx).Status == StatusDown {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// watchInterval is how often a grpc.health.v1 Watch stream re-runs the checks.
const watchInterval = 5 * time.Second

// Watch implements grpchealth's watcher: it re-runs the checks every
// watchInterval and calls onChange when the serving status flips. The
// handler sends the current status first and then one message per change.
func (c *Checker) Watch(ctx context.Context, req *grpchealth.CheckRequest, onChange func()) (func(), error) {
	if !c.services[req.Service] {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		ticker := time.NewTicker(watchInterval)
		defer ticker.Stop()
		last := c.Run(ctx).Status == StatusDown
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if down := c.Run(ctx).Status == StatusDown; down != last {
					last = down
					onChange()
				}
			}
		}
	}()
	return cancel, nil
}
