package api_test

import (
	"os"
	"testing"

	"github.com/coderunner/coderunner/server/manifest"
)

// The server runs its own binary inside manifest deployments' sandboxes;
// under `go test` that binary is this test binary, so it answers the
// hidden subcommand the way `coderunner` does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == manifest.Command {
		os.Exit(manifest.Main(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}
