package logs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/testenv"
)

// BenchmarkThroughput appends lines as fast as one goroutine can for two
// seconds (an app printing flat out, after its output was split into
// lines) and reports how many per second were stored, and what share was
// dropped (and logged as dropped) because storage fell behind.
func BenchmarkThroughput(b *testing.B) {
	for _, db := range testenv.Databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			conn, dep := setup(b, db)
			svc := logs.New(conn, logs.Options{Logger: quiet(), RetainLines: 10_000_000, RetainBytes: 1 << 40})
			defer svc.Close()
			const window = 2 * time.Second
			texts := make([]string, 1000)
			for i := range texts {
				texts[i] = fmt.Sprintf("GET /api/items/%d 200 1.2ms user=42 request_id=abcdef%06d", i, i)
			}
			var stored, dropped, appended int
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _, before := count(b, conn, dep)
				start := time.Now()
				n := 0
				for time.Since(start) < window {
					for j := 0; j < 1000; j++ {
						svc.Append(dep, logs.Stdout, logs.Run, 0, texts[j], false)
					}
					n += 1000
				}
				appended += n
				if err := svc.Flush(context.Background(), dep); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				lines, err := svc.Query(context.Background(), dep, logs.Filter{Streams: []logs.Stream{logs.System}}, before, 0, 1_000_000)
				if err != nil {
					b.Fatal(err)
				}
				runDropped := 0
				for _, l := range lines {
					var k int
					fmt.Sscanf(l.Text, "[coderunner] %d lines dropped", &k)
					runDropped += k
				}
				dropped += runDropped
				stored += n - runDropped
			}
			b.ReportMetric(float64(stored)/elapsed.Seconds(), "lines/s-stored")
			b.ReportMetric(100*float64(dropped)/float64(appended), "%dropped")
		})
	}
}
