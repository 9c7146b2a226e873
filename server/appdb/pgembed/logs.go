package pgembed

import (
	"log/slog"
	"strings"
)

// parseLine turns a line of postgres's stderr into a log record. postgres
// runs with log_line_prefix ” so each message starts with its severity.
// Routine LOG chatter (checkpoints, start-up steps) goes to Debug, so the
// server's Info log stays quiet; failed client logins (FATAL) and warnings
// are Warn.
func parseLine(line string) (slog.Level, string, []any) {
	severity, msg, ok := strings.Cut(line, ":")
	if !ok || strings.ContainsAny(severity, " \t") {
		severity, msg = "", line
	}
	return logLevel(severity), strings.TrimSpace(msg), []any{"severity", severity}
}

func logLevel(severity string) slog.Level {
	switch severity {
	case "PANIC":
		return slog.LevelError
	case "FATAL", "WARNING":
		return slog.LevelWarn
	case "ERROR":
		// A client's failed statement: the client got the error already.
		return slog.LevelInfo
	default: // LOG, DETAIL, HINT, STATEMENT, CONTEXT, DEBUGn, continuations
		return slog.LevelDebug
	}
}
