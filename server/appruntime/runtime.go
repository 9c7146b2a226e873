// Package appruntime turns a source tree into a plan: which runtime it is,
// what (if anything) to run to build it, and how to start it. It only reads
// the tree; the orchestrator runs the plan in sandboxes.
package appruntime

import (
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/source"
)

// Name identifies a runtime; it is stored in the deployments table.
type Name string

// The runtimes CodeRunner knows.
const (
	NodeJS   Name = "nodejs"
	Manifest Name = "manifest"
)

// SelfBinary is where the platform's own binary appears inside a sandbox;
// the manifest runtime runs it.
const SelfBinary = "/opt/coderunner/coderunner"

// AppPort is the port every app listens on inside its sandbox. Each sandbox
// has its own network namespace, so all apps can share one number.
const AppPort = 3000

// Plan says how to build and start a deployment.
type Plan struct {
	Runtime Name
	// Build is the build command, run with network access in the app dir;
	// nil when there is nothing to build.
	Build []string
	// CacheKey identifies the build's output (node_modules): two sources
	// with the same key build to the same dependencies, so a redeploy with
	// unchanged dependencies reuses the cached result and skips the build.
	CacheKey string
	// Start is the command that runs the app in the app dir.
	Start []string
	// Databases are the database engines the app needs attached before it
	// starts ("postgres" for a manifest that says database: postgres).
	Databases []string
}

// Detect names the runtime of tree: manifest.yaml or manifest.yml means
// the manifest runtime, package.json means nodejs.
func Detect(tree *source.Tree) (Name, error) {
	for _, name := range []string{"manifest.yaml", "manifest.yml"} {
		if _, ok := tree.Lookup(name); ok {
			return Manifest, nil
		}
	}
	if _, ok := tree.Lookup("package.json"); ok {
		return NodeJS, nil
	}
	return "", errs.Field(errs.KindInvalidArgument, "runtime",
		"cannot tell the runtime: expected a package.json (Node.js) or a manifest.yaml (manifest) at the top of the source")
}

// PlanFor returns the plan for tree under runtime name.
func PlanFor(name Name, tree *source.Tree) (*Plan, error) {
	switch name {
	case NodeJS:
		return planNode(tree)
	case Manifest:
		return planManifest(tree)
	default:
		return nil, errs.Field(errs.KindInvalidArgument, "runtime", "unknown runtime %q", name)
	}
}
