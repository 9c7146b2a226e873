package appruntime

import (
	"fmt"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/manifest"
	"github.com/coderunner/coderunner/server/source"
)

// ManifestFile returns the manifest file of tree and its name.
func ManifestFile(tree *source.Tree) (source.File, bool) {
	for _, name := range []string{"manifest.yaml", "manifest.yml"} {
		if f, ok := tree.Lookup(name); ok {
			return f, true
		}
	}
	return source.File{}, false
}

// ParseManifest parses tree's manifest; problems become one InvalidArgument
// naming each line and field.
func ParseManifest(tree *source.Tree) (*manifest.Manifest, error) {
	f, ok := ManifestFile(tree)
	if !ok {
		return nil, errs.Field(errs.KindInvalidArgument, "files", "a manifest deployment needs a manifest.yaml at the top of the source")
	}
	m, diags := manifest.Parse(f.Content)
	if len(diags) > 0 {
		lines := make([]string, len(diags))
		for i, d := range diags {
			lines[i] = d.String()
		}
		return nil, errs.Field(errs.KindInvalidArgument, "files", "%s is not valid: %s", f.Path, strings.Join(lines, "; "))
	}
	return m, nil
}

// planManifest serves the manifest with the platform's own binary: nothing
// to build, no npm, no network needed.
// A manifest that says database: postgres keeps its data in the
// deployment's PostgreSQL database (DATABASE_URL), which it needs.
func planManifest(tree *source.Tree) (*Plan, error) {
	m, err := ParseManifest(tree)
	if err != nil {
		return nil, err
	}
	f, _ := ManifestFile(tree)
	plan := &Plan{
		Runtime: Manifest,
		Start: []string{SelfBinary, manifest.Command,
			"--manifest", f.Path, "--data", "/data", "--addr", fmt.Sprintf("0.0.0.0:%d", AppPort)},
	}
	if m.Engine() == manifest.Postgres {
		plan.Databases = []string{string(manifest.Postgres)}
	}
	return plan, nil
}
