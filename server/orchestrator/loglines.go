package orchestrator

import (
	"bytes"
	"strings"
	"sync"

	"github.com/coderunner/coderunner/server/logs"
)

// reasonLines is how many of the last log lines a failure reason quotes:
// enough for a Node.js stack trace with its message.
const reasonLines = 25

// maxLineBytes cuts very long lines so one runaway print cannot exhaust
// memory.
const maxLineBytes = 16 << 10

// recentLines keeps an operation's last lines, for failure reasons
// ("exited with code 1: <last lines>"). The log pipeline that stores and
// streams every line plugs in beside it. A nil *recentLines keeps nothing.
type recentLines struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func newRecentLines(max int) *recentLines { return &recentLines{max: max} }

func (r *recentLines) add(line string) { r.addLines([]logs.Captured{{Text: line}}) }

// addLines keeps the last of lines (one lock for a whole read's lines).
func (r *recentLines) addLines(lines []logs.Captured) {
	if r == nil {
		return
	}
	if len(lines) > r.max {
		lines = lines[len(lines)-r.max:]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range lines {
		r.lines = append(r.lines, l.Text)
	}
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
}

// tail returns the last n lines joined, for a status reason.
func (r *recentLines) tail(n int) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lineWriter splits a process's output into lines for a sink, handing it
// the complete lines of each write together. It never blocks the process
// beyond the sink's own (in-memory) work.
type lineWriter struct {
	mu       sync.Mutex
	partial  []byte
	skipping bool // inside the discarded rest of an overlong line
	batch    []logs.Captured
	emit     func(lines []logs.Captured)
}

func (w *lineWriter) add(text string, truncated bool) {
	w.batch = append(w.batch, logs.Captured{Text: text, Truncated: truncated})
}

// send hands the collected lines to the sink.
func (w *lineWriter) send() {
	if len(w.batch) > 0 {
		w.emit(w.batch)
		clear(w.batch) // the sink keeps the strings, not the slice
		w.batch = w.batch[:0]
	}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.send()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if w.skipping {
				break
			}
			w.partial = append(w.partial, p...)
			if len(w.partial) > maxLineBytes {
				// The rest of an overlong line is discarded up to its newline.
				w.add(string(w.partial[:maxLineBytes])+" [line cut at 16 KiB]", true)
				w.partial = w.partial[:0]
				w.skipping = true
			}
			break
		}
		line := append(w.partial, p[:i]...)
		w.partial = w.partial[:0]
		p = p[i+1:]
		if w.skipping {
			w.skipping = false
			continue
		}
		truncated := len(line) > maxLineBytes
		if truncated {
			line = append(line[:maxLineBytes:maxLineBytes], " [line cut at 16 KiB]"...)
		}
		w.add(strings.TrimSuffix(string(line), "\r"), truncated)
	}
	return n, nil
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 && !w.skipping {
		w.add(string(w.partial), false)
		w.send()
	}
	w.partial, w.skipping = w.partial[:0], false
}
