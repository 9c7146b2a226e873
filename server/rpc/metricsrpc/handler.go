// Package metricsrpc is the MetricsService's transport: the orchestrator
// answers who owns what, usage's sampler what it uses.
package metricsrpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/rpc/protoconv"
	"github.com/coderunner/coderunner/server/usage"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// defaultStreamInterval is StreamDeploymentMetrics' interval when the
// request leaves it unset.
const defaultStreamInterval = 5 * time.Second

// Handler implements MetricsService.
type Handler struct {
	manager   *orchestrator.Manager
	sampler   *usage.Sampler
	databases *appdb.Service
	logger    *slog.Logger
}

var _ coderunnerv1connect.MetricsServiceHandler = (*Handler)(nil)

// NewHandler returns the MetricsService over manager (ownership, status
// counts), sampler (measurements) and databases (their last measures).
func NewHandler(manager *orchestrator.Manager, sampler *usage.Sampler, databases *appdb.Service, logger *slog.Logger) *Handler {
	return &Handler{manager: manager, sampler: sampler, databases: databases, logger: logger}
}

func owner(ctx context.Context) string { return auth.MustPrincipal(ctx).User.ID }

// GetDeploymentMetrics implements MetricsService.GetDeploymentMetrics.
func (h *Handler) GetDeploymentMetrics(ctx context.Context, req *connect.Request[coderunnerv1.GetDeploymentMetricsRequest]) (*connect.Response[coderunnerv1.GetDeploymentMetricsResponse], error) {
	d, err := h.manager.Get(ctx, owner(ctx), req.Msg.GetDeploymentId())
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	snap := h.sampler.Deployment(d.ID)
	m := &coderunnerv1.DeploymentMetrics{
		DeploymentId:     d.ID,
		Current:          sampleToProto(snap.Current),
		History:          make([]*coderunnerv1.MetricsSample, len(snap.History)),
		CpuLimitCores:    snap.CPULimitCores,
		MemoryLimitBytes: snap.MemoryLimitBytes,
		// The stored count, so a server that does not run the deployment
		// (or restarted since) still reports it.
		Restarts: int64(d.RestartCount),
		OomKills: snap.OOMKills,
		Requests: &coderunnerv1.RequestCounts{
			Success:     snap.Traffic.Classes[0] + snap.Traffic.Classes[1],
			Redirect:    snap.Traffic.Classes[2],
			ClientError: snap.Traffic.Classes[3],
			ServerError: snap.Traffic.Classes[4],
		},
		BytesIn:  snap.Traffic.BytesIn,
		BytesOut: snap.Traffic.BytesOut,
	}
	for i, s := range snap.History {
		m.History[i] = sampleToProto(s)
	}
	for _, db := range h.databases.Latest(d.ID) {
		m.Databases = append(m.Databases, &coderunnerv1.DatabaseMetrics{Engine: protoconv.EngineToProto(db.Engine),
			SizeBytes: db.Usage.SizeBytes, Connections: int32(db.Usage.Connections), MeasuredAt: timestamppb.New(db.At)})
	}
	for _, cs := range h.manager.ColdStarts(d.ID) {
		m.ColdStarts = append(m.ColdStarts, &coderunnerv1.ColdStart{At: timestamppb.New(cs.At), Took: durationpb.New(cs.Took),
			HeldRequests: int32(cs.Held), Error: cs.Err})
	}
	if !snap.Since.IsZero() {
		m.Uptime = durationpb.New(snap.Current.Time.Sub(snap.Since))
	}
	return connect.NewResponse(&coderunnerv1.GetDeploymentMetricsResponse{Metrics: m}), nil
}

// StreamDeploymentMetrics implements MetricsService.StreamDeploymentMetrics:
// one sample per interval, each measured over exactly that interval, until
// the client leaves or the deployment is deleted.
func (h *Handler) StreamDeploymentMetrics(ctx context.Context, req *connect.Request[coderunnerv1.StreamDeploymentMetricsRequest], stream *connect.ServerStream[coderunnerv1.StreamDeploymentMetricsResponse]) error {
	ownerID := owner(ctx)
	// Watch before reading the deployment, so a delete between the two is
	// not missed: the stream learns of it from the watch, not by reading
	// the deployment again on every tick.
	w := h.manager.Watch(ownerID, req.Msg.GetDeploymentId())
	defer h.manager.Unwatch(w)
	d, err := h.manager.Get(ctx, ownerID, req.Msg.GetDeploymentId())
	if err != nil {
		return errs.ToConnect(ctx, h.logger, err)
	}
	if d.Status == orchestrator.StatusDestroyed {
		return connect.NewError(connect.CodeNotFound, errDeleted)
	}
	interval := defaultStreamInterval
	if req.Msg.GetInterval() != nil {
		interval = req.Msg.GetInterval().AsDuration()
	}
	// Send the response headers now: clients (connect-go over HTTP/1.1,
	// fetch in browsers) wait for them, and the first sample is a whole
	// interval away.
	if err := stream.Send(nil); err != nil {
		return err
	}
	meter := h.sampler.Meter(d.ID)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-w.C:
			if !ok {
				// Cut off for falling behind on status changes (a stream
				// that does not read): the client reconnects.
				return connect.NewError(connect.CodeResourceExhausted, errWatchBehind)
			}
			if c.Event.Status == orchestrator.StatusDestroyed {
				return connect.NewError(connect.CodeNotFound, errDeleted)
			}
		case <-tick.C:
			if err := stream.Send(&coderunnerv1.StreamDeploymentMetricsResponse{Sample: sampleToProto(meter.Next())}); err != nil {
				return err
			}
		}
	}
}

var errWatchBehind = errors.New("the stream fell behind the deployment's status changes; reconnect")

var errDeleted = errs.New(errs.KindNotFound, "the deployment was deleted")

// GetOverview implements MetricsService.GetOverview.
func (h *Handler) GetOverview(ctx context.Context, _ *connect.Request[coderunnerv1.GetOverviewRequest]) (*connect.Response[coderunnerv1.GetOverviewResponse], error) {
	ownerID := owner(ctx)
	counts, err := h.manager.CountByStatus(ctx, ownerID)
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	ids, err := h.manager.IDs(ctx, ownerID)
	if err != nil {
		return nil, errs.ToConnect(ctx, h.logger, err)
	}
	o := &coderunnerv1.Overview{}
	for _, c := range counts {
		o.TotalDeployments += int32(c.Count)
		o.StatusCounts = append(o.StatusCounts, &coderunnerv1.StatusCount{Status: protoconv.StatusToProto(c.Status), Count: int32(c.Count)})
	}
	for _, id := range ids {
		o.TotalRequests += h.sampler.Requests(id)
	}
	u := h.sampler.UsageOf(ownerID)
	o.CpuCoresUsed, o.CpuCoresLimit = u.CPUCores, u.CPULimitCores
	o.MemoryBytesUsed, o.MemoryBytesLimit = u.MemoryBytes, u.MemoryLimitBytes
	return connect.NewResponse(&coderunnerv1.GetOverviewResponse{Overview: o}), nil
}

func sampleToProto(s usage.Sample) *coderunnerv1.MetricsSample {
	return &coderunnerv1.MetricsSample{
		Time:              timestamppb.New(s.Time),
		CpuCores:          s.CPUCores,
		CpuPercent:        s.CPUPercent,
		MemoryBytes:       s.MemoryBytes,
		MemoryPercent:     s.MemoryPercent,
		RequestsPerSecond: s.RequestsPerSecond,
		LatencyP95Seconds: s.LatencyP95,
		RequestsInFlight:  s.InFlight,
		ErrorRatio:        s.ErrorRatio,
		Replicas:          int32(s.Replicas),
	}
}
