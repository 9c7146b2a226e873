package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen receives PostgreSQL notifications on channels and calls handle for
// each, until ctx ends. A dropped connection is re-established with
// back-off; notifications sent while it was down are lost, which callers
// accept (followers resume from the database).
func Listen(ctx context.Context, databaseURL string, channels []string, handle func(channel, payload string), logger *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, databaseURL, channels, handle)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("database notifications interrupted; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func listenOnce(ctx context.Context, databaseURL string, channels []string, handle func(channel, payload string)) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		handle(n.Channel, n.Payload)
	}
}
