package usage

import (
	"strconv"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/prometheus/client_golang/prometheus"
)

// statuses are reported by coderunner_deployments even at zero, so alerts
// and dashboards see a value rather than no series.
var statuses = []orchestrator.Status{
	orchestrator.StatusPending, orchestrator.StatusProvisioning, orchestrator.StatusBuilding,
	orchestrator.StatusRunning, orchestrator.StatusStopped, orchestrator.StatusFailed,
}

var (
	replicaLabels = []string{"deployment_id", "replica"}
	idLabel       = []string{"deployment_id"}

	cpuSecondsDesc = prometheus.NewDesc("coderunner_deployment_cpu_seconds_total",
		"CPU time a replica's sandbox used, from its cgroup (read every 5 s; resets when the replica restarts).", replicaLabels, nil)
	cpuLimitDesc = prometheus.NewDesc("coderunner_deployment_cpu_limit_cores",
		"A replica's CPU limit, in cores.", replicaLabels, nil)
	memoryDesc = prometheus.NewDesc("coderunner_deployment_memory_bytes",
		"Memory a replica's sandbox uses (cgroup usage less inactive page cache; read every 5 s).", replicaLabels, nil)
	memoryLimitDesc = prometheus.NewDesc("coderunner_deployment_memory_limit_bytes",
		"A replica's enforced memory limit.", replicaLabels, nil)
	restartsDesc = prometheus.NewDesc("coderunner_deployment_restarts_total",
		"Crash restarts of a deployment since it was created.", idLabel, nil)
	oomKillsDesc = prometheus.NewDesc("coderunner_deployment_oom_kills_total",
		"Replicas of a deployment killed for exceeding their memory limit since this server started.", idLabel, nil)
	uptimeDesc = prometheus.NewDesc("coderunner_deployment_uptime_seconds",
		"How long a deployment's current run has been ready.", idLabel, nil)
	replicasDesc = prometheus.NewDesc("coderunner_deployment_replicas",
		"Replicas of a deployment running now (those whose sandbox was measured in the last reading).", idLabel, nil)
	desiredReplicasDesc = prometheus.NewDesc("coderunner_deployment_desired_replicas",
		"Replicas a running deployment is asked to run, by its owner or its autoscale policy; 0 when it is not running.", idLabel, nil)
	deploymentsDesc = prometheus.NewDesc("coderunner_deployments",
		"Deployments this server runs, by status (destroyed ones excluded).", []string{"status"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Sampler) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cpuSecondsDesc, cpuLimitDesc, memoryDesc, memoryLimitDesc, restartsDesc, oomKillsDesc, uptimeDesc, replicasDesc, desiredReplicasDesc, deploymentsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the latest readings; it
// reads no cgroup and queries no database.
func (s *Sampler) Collect(ch chan<- prometheus.Metric) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ser := range s.series {
		for _, r := range ser.last.replicas {
			replica := strconv.Itoa(r.index)
			ch <- prometheus.MustNewConstMetric(cpuSecondsDesc, prometheus.CounterValue, r.cpu.Seconds(), id, replica)
			ch <- prometheus.MustNewConstMetric(cpuLimitDesc, prometheus.GaugeValue, float64(ser.info.Limits.CPUMillicores)/1000, id, replica)
			ch <- prometheus.MustNewConstMetric(memoryDesc, prometheus.GaugeValue, float64(r.memory), id, replica)
			ch <- prometheus.MustNewConstMetric(memoryLimitDesc, prometheus.GaugeValue, float64(r.memoryLimit), id, replica)
		}
		ch <- prometheus.MustNewConstMetric(replicasDesc, prometheus.GaugeValue, float64(len(ser.last.replicas)), id)
		ch <- prometheus.MustNewConstMetric(desiredReplicasDesc, prometheus.GaugeValue, float64(ser.info.Desired), id)
		ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(ser.info.Restarts), id)
		ch <- prometheus.MustNewConstMetric(oomKillsDesc, prometheus.CounterValue, float64(ser.info.OOMKills), id)
		if !ser.info.Since.IsZero() {
			ch <- prometheus.MustNewConstMetric(uptimeDesc, prometheus.GaugeValue, now.Sub(ser.info.Since).Seconds(), id)
		}
	}
	counts := make(map[orchestrator.Status]int, len(s.byStatus))
	for _, c := range s.byStatus {
		counts[c.Status] = c.Count
	}
	for _, st := range statuses {
		ch <- prometheus.MustNewConstMetric(deploymentsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
