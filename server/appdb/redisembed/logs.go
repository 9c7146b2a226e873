package redisembed

import (
	"log/slog"
	"strings"
)

// routineWarnings are lines redis-server logs at its warning level ('#')
// so that they show even with "loglevel warning", though nothing is
// wrong: every start and every shutdown prints them. They go to Debug
// with the rest of the chatter; only real warnings reach Warn.
var routineWarnings = []string{
	"oO0OoO0OoO0Oo Redis is starting",
	"Redis version=",
	"Configuration loaded",
	"Server initialized",
	"User requested shutdown",
	"Received SIGTERM",
	"Received SIGINT",
	"Redis is now ready to exit",
}

// parseLine turns a line of redis-server's output into a log record.
// Lines look like "7165:M 07 Dec 2026 12:33:32.966 * message": pid and
// role, time, then the level ('.' debug, '-' verbose, '*' notice, '#'
// warning), or, from a signal handler, "pid:signal-handler (time)
// message" at the warning level. A line without that shape is a complaint printed before the
// log was set up, such as a bad redis.conf directive: Warn.
func parseLine(line string) (slog.Level, string, []any) {
	// Signal handlers log "pid:signal-handler (unix time) message".
	if before, rest, ok := strings.Cut(line, ":signal-handler ("); ok && !strings.Contains(before, " ") {
		if _, msg, ok := strings.Cut(rest, ") "); ok {
			return warnLevel(msg), msg, nil
		}
	}
	parts := strings.SplitN(line, " ", 7)
	if len(parts) < 7 || len(parts[5]) != 1 || !strings.Contains(parts[0], ":") {
		return slog.LevelWarn, line, nil
	}
	msg := parts[6]
	if parts[5] != "#" {
		return slog.LevelDebug, msg, nil
	}
	return warnLevel(msg), msg, nil
}

// warnLevel is Warn for a message logged at redis-server's warning level,
// unless it is routine.
func warnLevel(msg string) slog.Level {
	for _, routine := range routineWarnings {
		if strings.HasPrefix(msg, routine) {
			return slog.LevelDebug
		}
	}
	return slog.LevelWarn
}
