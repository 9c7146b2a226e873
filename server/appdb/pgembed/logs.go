package pgembed

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// maxLogLine caps one logged line; a longer one (a huge failing statement)
// is cut, not allowed to stall the pipe.
const maxLogLine = 8 << 10

// recentLines is how many of postgres's last lines an error about a failed
// start quotes.
const recentLines = 10

// serverLog turns postgres's stderr into log records. postgres runs with
// log_line_prefix ” so each message starts with its severity. Routine
// LOG chatter (checkpoints, start-up steps) goes to Debug, so the server's
// Info log stays quiet; failed client logins (FATAL) and warnings are Warn.
type serverLog struct {
	logger *slog.Logger

	mu     sync.Mutex
	recent []string
}

// copy logs every line of r until EOF, which comes when the last postgres
// process holding the pipe has exited.
func (l *serverLog) copy(r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 {
			l.log(string(line))
		}
		for isPrefix && err == nil { // drop the rest of an overlong line
			_, isPrefix, err = br.ReadLine()
		}
		if err != nil {
			return
		}
	}
}

func (l *serverLog) log(line string) {
	l.mu.Lock()
	l.recent = append(l.recent, line)
	if len(l.recent) > recentLines {
		l.recent = l.recent[len(l.recent)-recentLines:]
	}
	l.mu.Unlock()
	severity, msg, ok := strings.Cut(line, ":")
	if !ok || strings.ContainsAny(severity, " \t") {
		severity, msg = "", line
	}
	l.logger.Log(context.Background(), logLevel(severity), strings.TrimSpace(msg), "severity", severity)
}

// last returns the most recent lines, for an error message.
func (l *serverLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recent, "\n")
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
