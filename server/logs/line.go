// Package logs captures, stores and streams deployments' log lines. Lines
// enter through Append, which never blocks the app: each deployment has a
// bounded queue, a writer goroutine that numbers lines (seq), stores them in
// batches and then publishes them to live followers. Followers replay from
// the database and continue live with no gap and no duplicate.
package logs

import (
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Stream is where a line came from; the values match the API's LogStream.
type Stream int16

// The streams: the app's two, and the platform's own lines about it.
const (
	Stdout Stream = 1
	Stderr Stream = 2
	System Stream = 3
)

// Phase is the part of the lifecycle a line belongs to; the values match
// the API's LogPhase.
type Phase int16

// The phases: installing dependencies, and running the app.
const (
	Build Phase = 1
	Run   Phase = 2
)

// Line is one stored log line (a row of log_lines).
type Line struct {
	bun.BaseModel `bun:"table:log_lines"`

	DeploymentID string    `bun:"deployment_id,pk"`
	Seq          int64     `bun:"seq,pk"`
	Time         time.Time `bun:"time,notnull"`
	Stream       Stream    `bun:"stream,notnull"`
	Phase        Phase     `bun:"phase,notnull"`
	Replica      int       `bun:"replica,notnull"`
	Text         string    `bun:"text,notnull"`
	Truncated    bool      `bun:"truncated,notnull"`
}

// Filter selects lines. Zero values match everything.
type Filter struct {
	Streams  []Stream
	Phases   []Phase
	Contains string
}

// Match reports whether l passes the filter (for live lines; stored ones
// are filtered in SQL).
func (f Filter) Match(l *Line) bool {
	if len(f.Streams) > 0 && !contains(f.Streams, l.Stream) {
		return false
	}
	if len(f.Phases) > 0 && !contains(f.Phases, l.Phase) {
		return false
	}
	return f.Contains == "" || strings.Contains(l.Text, f.Contains)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
