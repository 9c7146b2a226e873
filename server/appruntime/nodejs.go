package appruntime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/source"
)

// packageJSON is the part of package.json the plan reads.
type packageJSON struct {
	Main         string            `json:"main"`
	Scripts      map[string]string `json:"scripts"`
	Dependencies map[string]string `json:"dependencies"`
}

// lockfiles make `npm ci` possible: an exact, reproducible install.
var lockfiles = []string{"package-lock.json", "npm-shrinkwrap.json"}

// entryCandidates are tried in order when package.json names no start
// script and no main.
var entryCandidates = []string{"index.js", "server.js", "app.js"}

func planNode(tree *source.Tree) (*Plan, error) {
	file, ok := tree.Lookup("package.json")
	if !ok {
		return nil, errs.Field(errs.KindInvalidArgument, "files", "a Node.js app needs a package.json at the top of the source")
	}
	var pkg packageJSON
	if err := json.Unmarshal(file.Content, &pkg); err != nil {
		return nil, errs.Field(errs.KindInvalidArgument, "files", "package.json is not valid JSON: %v", err)
	}
	plan := &Plan{Runtime: NodeJS}

	if len(pkg.Dependencies) > 0 {
		// The key covers everything in the source that decides what lands
		// in node_modules: the manifest, the lockfile, the project's npm
		// configuration and the install command. (Caches are per owner,
		// so a script outside the key cannot reach another user's app.)
		h := sha256.New()
		h.Write(file.Content)
		if npmrc, ok := tree.Lookup(".npmrc"); ok {
			h.Write([]byte(".npmrc"))
			h.Write(npmrc.Content)
		}
		plan.Build = []string{"npm", "install", "--omit=dev", "--no-audit", "--no-fund"}
		for _, name := range lockfiles {
			if lock, ok := tree.Lookup(name); ok {
				plan.Build = []string{"npm", "ci", "--omit=dev", "--no-audit", "--no-fund"}
				h.Write([]byte(name))
				h.Write(lock.Content)
				break
			}
		}
		h.Write([]byte(strings.Join(plan.Build, " ")))
		plan.CacheKey = hex.EncodeToString(h.Sum(nil))
	}

	start, err := startCommand(tree, &pkg)
	if err != nil {
		return nil, err
	}
	plan.Start = start
	return plan, nil
}

// startCommand is `npm start` when a start script exists, else `node
// <main>`. A start script that is exactly `node <file>` runs node directly:
// the same program without npm's half-second of start-up, and SIGTERM
// reaches the app itself.
func startCommand(tree *source.Tree, pkg *packageJSON) ([]string, error) {
	if script := strings.TrimSpace(pkg.Scripts["start"]); script != "" {
		fields := strings.Fields(script)
		if len(fields) == 2 && fields[0] == "node" && isPlainPath(fields[1]) {
			if _, ok := tree.Lookup(cleanEntry(fields[1])); ok {
				return []string{"node", fields[1]}, nil
			}
		}
		return []string{"npm", "start", "--silent"}, nil
	}
	if pkg.Main != "" {
		main := cleanEntry(pkg.Main)
		if _, ok := tree.Lookup(main); ok {
			return []string{"node", main}, nil
		}
		if _, ok := tree.Lookup(main + ".js"); ok {
			return []string{"node", main + ".js"}, nil
		}
		return nil, errs.Field(errs.KindInvalidArgument, "files", "package.json names main %q, but the source has no such file", pkg.Main)
	}
	for _, name := range entryCandidates {
		if _, ok := tree.Lookup(name); ok {
			return []string{"node", name}, nil
		}
	}
	return nil, errs.Field(errs.KindInvalidArgument, "files",
		"cannot tell how to start the app: add a \"start\" script or \"main\" to package.json, or an index.js, server.js or app.js")
}

func cleanEntry(p string) string {
	return strings.TrimPrefix(path.Clean(p), "./")
}

// isPlainPath accepts a file argument with no shell syntax in it.
func isPlainPath(s string) bool {
	return !strings.ContainsAny(s, "$`;&|<>(){}*?\"'\\ ") && !strings.HasPrefix(s, "-")
}
