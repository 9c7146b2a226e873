package appdb

import (
	"context"
	"fmt"

	"github.com/coderunner/coderunner/server/store"
)

// holdQuota makes r's database read-only once u, its latest measure, is
// over the size quota, and writable again once it is back under; each
// turn is stored on the row and told in the deployment's log. A failure
// is logged and tried again at the next measure.
func (s *Service) holdQuota(ctx context.Context, b Backend, r *row, u Usage) {
	over := s.limits.MaxBytes > 0 && u.SizeBytes > s.limits.MaxBytes
	if over == r.ReadOnly {
		return
	}
	if err := b.SetReadOnly(ctx, r.Name, over); err != nil {
		s.logger.Warn("databases: hold the size quota", "database", r.Name, "read_only", over, "error", err)
		return
	}
	r.ReadOnly = over
	if _, err := store.DB(ctx, s.db).NewUpdate().Model(r).Column("read_only").WherePK().Exec(ctx); err != nil {
		s.logger.Warn("databases: store read-only", "database", r.Name, "error", err)
		return
	}
	text := fmt.Sprintf("database %s is back under its %s quota (%s): writable again", r.Engine, mib(s.limits.MaxBytes), mib(u.SizeBytes))
	if over {
		text = fmt.Sprintf("database %s is over its %s quota (%s): read-only until it is smaller (%s)", r.Engine, mib(s.limits.MaxBytes), mib(u.SizeBytes), shrinkHint[r.Engine])
	}
	s.logger.Info("databases: "+text, "deployment", r.DeploymentID)
	if s.notices != nil {
		s.notices(r.DeploymentID, text)
	}
}

// shrinkHint tells the app how to get back under the quota.
var shrinkHint = map[Engine]string{
	EnginePostgres: "transactions start read-only; to delete, use BEGIN READ WRITE; ...; COMMIT",
	EngineRedis:    "DEL and UNLINK still work",
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
