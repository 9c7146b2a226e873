package embedded

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

// recentLines is how many of a server's last lines an error about a
// failed start quotes.
const recentLines = 10

// LineParser turns one line of a server's output into a log record: its
// level, its message and any attributes (such as the server's own
// severity word).
type LineParser func(line string) (level slog.Level, msg string, attrs []any)

// Log relays a server's output (stdout and stderr) to a logger, line by
// line, and remembers the last lines for error messages.
type Log struct {
	logger *slog.Logger
	parse  LineParser

	mu     sync.Mutex
	recent []string
}

// NewLog returns a Log that parses each line with parse and logs it to
// logger.
func NewLog(logger *slog.Logger, parse LineParser) *Log {
	return &Log{logger: logger, parse: parse}
}

// Copy logs every line of r until EOF, which comes when the last process
// holding the pipe has exited.
func (l *Log) Copy(r io.Reader) {
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

func (l *Log) log(line string) {
	l.mu.Lock()
	l.recent = append(l.recent, line)
	if len(l.recent) > recentLines {
		l.recent = l.recent[len(l.recent)-recentLines:]
	}
	l.mu.Unlock()
	level, msg, attrs := l.parse(line)
	l.logger.Log(context.Background(), level, msg, attrs...)
}

// Last returns the most recent lines, for an error message.
func (l *Log) Last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recent, "\n")
}
