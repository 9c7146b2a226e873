package metrics

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
)

// RPCInterceptor counts calls and measures their duration by procedure and
// Connect code, on the unary and the streaming path alike. Labels come from
// the generated procedure names and the fixed set of codes, so cardinality
// stays bounded: unknown paths never reach an interceptor.
type RPCInterceptor struct {
	handled     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	openStreams *prometheus.GaugeVec
}

var _ connect.Interceptor = (*RPCInterceptor)(nil)

// NewRPCInterceptor registers the RPC metrics on reg.
func NewRPCInterceptor(reg prometheus.Registerer) *RPCInterceptor {
	i := &RPCInterceptor{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coderunner_rpc_handled_total",
			Help: "RPCs completed, by procedure and Connect code.",
		}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coderunner_rpc_duration_seconds",
			Help:    "Time from an RPC's start to its end (for streams: the stream's life), by procedure.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"procedure", "stream"}),
		openStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coderunner_rpc_open_streams",
			Help: "Streaming RPCs currently open, by procedure.",
		}, []string{"procedure"}),
	}
	reg.MustRegister(i.handled, i.duration, i.openStreams)
	return i
}

func (i *RPCInterceptor) observe(procedure string, stream bool, start time.Time, err error) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
		var connectErr *connect.Error
		if !errors.As(err, &connectErr) && errors.Is(err, context.Canceled) {
			code = connect.CodeCanceled.String()
		}
	}
	i.handled.WithLabelValues(procedure, code).Inc()
	streamLabel := "false"
	if stream {
		streamLabel = "true"
	}
	i.duration.WithLabelValues(procedure, streamLabel).Observe(time.Since(start).Seconds())
}

// WrapUnary implements connect.Interceptor.
func (i *RPCInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		start := time.Now()
		res, err := next(ctx, req)
		i.observe(req.Spec().Procedure, false, start, err)
		return res, err
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (i *RPCInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (i *RPCInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		open := i.openStreams.WithLabelValues(procedure)
		open.Inc()
		defer open.Dec()
		start := time.Now()
		err := next(ctx, conn)
		i.observe(procedure, true, start, err)
		return err
	}
}
