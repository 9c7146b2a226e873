package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"
)

// recoveryInterceptor turns a handler panic into CodeInternal and logs the
// stack, so one bad request never takes the server down. It is the
// outermost interceptor and covers streams too.
type recoveryInterceptor struct{ logger *slog.Logger }

func (i recoveryInterceptor) recovered(ctx context.Context, procedure string, err *error) {
	if r := recover(); r != nil {
		i.logger.ErrorContext(ctx, "panic in handler", "procedure", procedure, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = connect.NewError(connect.CodeInternal, errors.New("internal error; the server log has details"))
	}
}

func (i recoveryInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (res connect.AnyResponse, err error) {
		defer i.recovered(ctx, req.Spec().Procedure, &err)
		return next(ctx, req)
	}
}

func (i recoveryInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i recoveryInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) (err error) {
		defer i.recovered(ctx, conn.Spec().Procedure, &err)
		return next(ctx, conn)
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
