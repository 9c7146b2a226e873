package appdb

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/store"
	"github.com/prometheus/client_golang/prometheus"
)

// usageInterval is how often every database is measured.
const usageInterval = 30 * time.Second

// usageSample is one database's figures as last measured.
type usageSample struct {
	deploymentID string
	engine       Engine
	usage        Usage
	at           time.Time
}

// Measured is a database's figures as last measured.
type Measured struct {
	Engine Engine
	Usage  Usage
	At     time.Time
}

// put replaces one database's figures with fresher ones.
func (c *usageCache) put(sample usageSample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, u := range c.samples {
		if u.deploymentID == sample.deploymentID && u.engine == sample.engine {
			c.samples[i] = sample
			return
		}
	}
	c.samples = append(c.samples, sample)
}

// Latest returns deployment id's databases as last measured, by engine.
func (s *Service) Latest(id string) []Measured {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	var out []Measured
	for _, u := range s.usage.samples {
		if u.deploymentID == id {
			out = append(out, Measured{Engine: u.engine, Usage: u.usage, At: u.at})
		}
	}
	slices.SortFunc(out, func(a, b Measured) int { return strings.Compare(string(a.Engine), string(b.Engine)) })
	return out
}

// usageCache holds the latest figures, for scrapes to read without
// touching the database servers.
type usageCache struct {
	mu      sync.Mutex
	samples []usageSample
	wake    chan struct{}
}

var (
	sizeDesc = prometheus.NewDesc("coderunner_database_size_bytes",
		"Size on disk of a deployment's database, measured every 30 s.", []string{"deployment_id", "engine"}, nil)
	connsDesc = prometheus.NewDesc("coderunner_database_connections",
		"Connections open to a deployment's database, measured every 30 s.", []string{"deployment_id", "engine"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	ch <- sizeDesc
	ch <- connsDesc
}

// Collect implements prometheus.Collector with the latest figures.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	for _, u := range s.usage.samples {
		ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(u.usage.SizeBytes), u.deploymentID, string(u.engine))
		ch <- prometheus.MustNewConstMetric(connsDesc, prometheus.GaugeValue, float64(u.usage.Connections), u.deploymentID, string(u.engine))
	}
}

// RunUsage measures every database every usageInterval, and soon after a
// database is made or dropped, until ctx ends.
func (s *Service) RunUsage(ctx context.Context) {
	for {
		s.measure(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(usageInterval):
		case <-s.usage.wake:
		}
	}
}

// remeasure asks RunUsage for fresh figures now.
func (s *Service) remeasure() {
	select {
	case s.usage.wake <- struct{}{}:
	default:
	}
}

// measure samples every database, engine by engine, and holds each to
// its size quota.
func (s *Service) measure(ctx context.Context) {
	var rows []row
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Scan(ctx); err != nil {
		s.logger.Warn("databases: list for measuring", "error", err)
		return
	}
	byEngine := map[Engine][]row{}
	for _, r := range rows {
		byEngine[r.Engine] = append(byEngine[r.Engine], r)
	}
	samples := make([]usageSample, 0, len(rows))
	for engine, rows := range byEngine {
		b, err := s.servers(ctx, engine)
		if err != nil {
			s.logger.Warn("databases: measure", "engine", engine, "error", err)
			continue
		}
		names := make([]string, len(rows))
		for i, r := range rows {
			names[i] = r.Name
		}
		all, err := b.DescribeAll(ctx, names)
		if err != nil {
			s.logger.Warn("databases: measure", "engine", engine, "error", err)
			continue
		}
		for i := range rows {
			if u, ok := all[rows[i].Name]; ok {
				samples = append(samples, usageSample{deploymentID: rows[i].DeploymentID, engine: engine, usage: u, at: s.now()})
				s.holdQuota(ctx, b, &rows[i], u)
			}
		}
	}
	s.usage.mu.Lock()
	s.usage.samples = samples
	s.usage.mu.Unlock()
}
