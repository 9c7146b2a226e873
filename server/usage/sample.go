// Package usage measures what deployments use: CPU and memory from their
// sandboxes' cgroups, requests from the router's counters. A Sampler keeps
// the last 15 minutes per deployment at 5-second resolution, exports the
// latest readings to Prometheus; rpc/metricsrpc serves them.
package usage

import (
	"time"

	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
)

// Sample is a deployment's measurements over one interval, summed over its
// replicas.
type Sample struct {
	Time              time.Time
	CPUCores          float64
	CPUPercent        float64
	MemoryBytes       int64
	MemoryPercent     float64
	RequestsPerSecond float64
	LatencyP95        float64 // seconds
	InFlight          int64
	ErrorRatio        float64
	// Replicas is how many replicas were measured at the end of the
	// interval (those with a live cgroup).
	Replicas int
}

// reading is the raw counters of one deployment at one moment; a Sample is
// the difference of two readings.
type reading struct {
	at       time.Time
	replicas []replicaReading
	// cpuLimit (cores) and memoryLimit (bytes) sum the live replicas'.
	cpuLimit    float64
	memoryLimit int64
	traffic     metrics.TrafficSnapshot
}

type replicaReading struct {
	index       int
	sandbox     sandbox.Sandbox // identifies the replica across readings
	cpu         time.Duration   // CPU time since the sandbox started
	memory      int64
	memoryLimit int64
}

// read takes a reading of r now. Replicas whose cgroup is gone (ended,
// not yet replaced) are left out.
func read(r orchestrator.Running, traffic metrics.TrafficSnapshot, now time.Time) reading {
	rd := reading{at: now, traffic: traffic}
	for i, sb := range r.Replicas {
		st, err := sb.Stats()
		if err != nil {
			continue
		}
		limit := st.MemoryLimitBytes
		if limit <= 0 || limit > 1<<50 { // "max": no limit set
			limit = r.Limits.MemoryBytes
		}
		rd.replicas = append(rd.replicas, replicaReading{index: i, sandbox: sb, cpu: st.CPUUsage, memory: st.MemoryBytes, memoryLimit: limit})
		rd.cpuLimit += float64(r.Limits.CPUMillicores) / 1000
		rd.memoryLimit += limit
	}
	return rd
}

func (rd reading) memory() int64 {
	var n int64
	for _, r := range rd.replicas {
		n += r.memory
	}
	return n
}

// between computes the sample for the interval from prev to cur.
func between(prev, cur reading) Sample {
	s := Sample{Time: cur.at, MemoryBytes: cur.memory(), InFlight: cur.traffic.InFlight, Replicas: len(cur.replicas)}
	if cur.memoryLimit > 0 {
		s.MemoryPercent = 100 * float64(s.MemoryBytes) / float64(cur.memoryLimit)
	}
	wall := cur.at.Sub(prev.at).Seconds()
	if wall <= 0 {
		return s
	}
	var cpu time.Duration
	for _, c := range cur.replicas {
		used := c.cpu // a replica new since prev used all of it in between
		for _, p := range prev.replicas {
			if p.sandbox == c.sandbox && c.cpu >= p.cpu {
				used = c.cpu - p.cpu
			}
		}
		cpu += used
	}
	s.CPUCores = cpu.Seconds() / wall
	if cur.cpuLimit > 0 {
		s.CPUPercent = 100 * s.CPUCores / cur.cpuLimit
	}
	requests := cur.traffic.Requests() - prev.traffic.Requests()
	if requests > 0 {
		s.RequestsPerSecond = float64(requests) / wall
		serverErrors := cur.traffic.Classes[4] - prev.traffic.Classes[4]
		s.ErrorRatio = float64(serverErrors) / float64(requests)
		s.LatencyP95 = metrics.Quantile(0.95, prev.traffic, cur.traffic)
	}
	return s
}
