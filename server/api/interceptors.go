package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"
)

// recovered is connect.WithRecover's handler: a handler's panic (in a
// stream too) is logged with its stack and answered CodeInternal, so one
// bad request never takes the server down and the client learns nothing
// of the server's insides.
func recovered(logger *slog.Logger) func(context.Context, connect.Spec, http.Header, any) error {
	return func(ctx context.Context, spec connect.Spec, _ http.Header, r any) error {
		logger.ErrorContext(ctx, "panic in handler", "procedure", spec.Procedure, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, errors.New("internal error; the server log has details"))
	}
}

// loggingInterceptor logs one line per RPC (per stream, when it ends):
// procedure, protocol, peer, duration and the resulting code.
type loggingInterceptor struct{ logger *slog.Logger }

func (i loggingInterceptor) log(ctx context.Context, spec connect.Spec, peer connect.Peer, start time.Time, err error) {
	level := slog.LevelInfo
	attrs := []any{
		"procedure", spec.Procedure,
		"protocol", peer.Protocol,
		"peer", peer.Addr,
		"duration", time.Since(start),
	}
	if err != nil {
		code := connect.CodeOf(err)
		attrs = append(attrs, "code", code.String(), "error", err.Error())
		if code == connect.CodeInternal || code == connect.CodeUnknown {
			level = slog.LevelError
		}
	} else {
		attrs = append(attrs, "code", "ok")
	}
	i.logger.Log(ctx, level, "rpc", attrs...)
}

func (i loggingInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		i.log(ctx, req.Spec(), req.Peer(), start, err)
		return res, err
	}
}

func (i loggingInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i loggingInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		i.log(ctx, conn.Spec(), conn.Peer(), start, err)
		return err
	}
}

// drainInterceptor ends streams when the server shuts down. http.Server's
// Shutdown waits for handlers to return but does not cancel them, so a
// follow stream would hold shutdown open until its timeout; instead its
// context is cancelled and the handler ends the stream cleanly.
type drainInterceptor struct{ draining context.Context }

func (i drainInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc { return next }

func (i drainInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i drainInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(i.draining, cancel)
		defer stop()
		return next(ctx, conn)
	}
}
