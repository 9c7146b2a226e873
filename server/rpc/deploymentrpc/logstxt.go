package deploymentrpc

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/orchestrator"
)

// streamNames label lines in the plain-text download.
var streamNames = map[logs.Stream]string{logs.Stdout: "stdout", logs.Stderr: "stderr", logs.System: "system"}
var phaseNames = map[logs.Phase]string{logs.Build: "build", logs.Run: "run"}

// LogsDownload serves GET /api/deployments/{id}/logs.txt: every stored
// line as plain text, for curl users. It is authenticated like the RPCs
// (Authorization: Bearer) and another user's deployment is 404.
func LogsDownload(manager *orchestrator.Manager, logSvc *logs.Service, authn func(context.Context, string) (*auth.Principal, error), logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(msg + "\n"))
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			fail(http.StatusUnauthorized, "missing credentials: send the header 'Authorization: Bearer <token>'")
			return
		}
		p, err := authn(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if errs.Is(err, errs.KindUnauthenticated) {
				fail(http.StatusUnauthorized, err.Error())
			} else {
				logger.Error("authenticate log download", "error", err)
				fail(http.StatusInternalServerError, "internal error")
			}
			return
		}
		d, err := manager.Get(r.Context(), p.User.ID, r.PathValue("id"))
		if err != nil {
			if errs.Is(err, errs.KindNotFound) {
				fail(http.StatusNotFound, "deployment not found")
			} else {
				logger.Error("log download", "error", err)
				fail(http.StatusInternalServerError, "internal error")
			}
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+d.Name+`.log"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		out := bufio.NewWriterSize(w, 64<<10)
		defer func() { _ = out.Flush() }()
		var after int64
		for {
			lines, err := logSvc.Query(r.Context(), d.ID, logs.Filter{}, after, 0, 5000)
			if err != nil {
				logger.Error("log download", "error", err)
				return
			}
			for i := range lines {
				l := &lines[i]
				out.WriteString(l.Time.Format("2006-01-02T15:04:05.000Z07:00"))
				out.WriteString(" " + phaseNames[l.Phase] + "/" + streamNames[l.Stream] + " ")
				out.WriteString(l.Text)
				out.WriteByte('\n')
			}
			if len(lines) < 5000 {
				return
			}
			after = lines[len(lines)-1].Seq
		}
	})
}
