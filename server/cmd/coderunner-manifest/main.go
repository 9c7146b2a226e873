// Command coderunner-manifest is the manifest runtime alone: what a
// manifest deployment's sandbox runs, the same as `coderunner
// manifest-serve`, without the platform's packages. It starts several
// times faster (a few ms of package init against ~30 for the whole
// platform), and a manifest app's wake from sleep waits on that start.
// `make build` builds it beside bin/coderunner, which uses it when it is
// from the same build (server/app/manifest_runtime.go).
package main

import (
	"fmt"
	"os"

	"github.com/coderunner/coderunner/server/manifest"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != manifest.Command {
		fmt.Fprintf(os.Stderr, "usage: coderunner-manifest %s --manifest FILE --data DIR --addr HOST:PORT\n", manifest.Command)
		os.Exit(2)
	}
	os.Exit(manifest.Main(os.Args[2:], os.Stderr))
}
