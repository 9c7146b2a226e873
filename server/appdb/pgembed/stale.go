package pgembed

import (
	"context"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// orphanStopLimit bounds the fast shutdown of a postmaster left running by
// an earlier CodeRunner before it is shut down immediately.
const orphanStopLimit = 30 * time.Second

// stopOrphan stops a postmaster of this data dir that an earlier
// CodeRunner left running, so that the new one is our child and
// supervised: a fast shutdown, then an immediate one, for its backends
// too. A stale postmaster.pid whose process is dead is left to postgres,
// which checks that no old backend still holds the shared memory and
// removes the file itself.
func (c *Cluster) stopOrphan(ctx context.Context) error {
	pid := embedded.FindOrphan(filepath.Join(c.dataDir, "postmaster.pid"), "postgres", c.dataDir)
	if pid == 0 {
		return nil
	}
	c.logger.Warn("stopping a postgres left running on this data dir by an earlier run", "pid", pid)
	return embedded.StopOrphan(ctx, pid, syscall.SIGINT, syscall.SIGQUIT, orphanStopLimit, quitGrace)
}
