package pgembed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// debianBinGlob is where Debian and Ubuntu install each major version's
// server binaries side by side (postgresql-15, postgresql-16, ...).
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// findBinDir returns the directory holding initdb and postgres: explicit
// if set, else the Debian directory of the version that created the
// cluster (dataVersion, from PG_VERSION; a newer major version cannot open
// it), else the newest Debian version, else `pg_config --bindir`.
func findBinDir(ctx context.Context, explicit, dataVersion string) (string, error) {
	if explicit != "" {
		return explicit, checkBinDir(explicit)
	}
	if dataVersion != "" {
		dir := filepath.Join("/usr/lib/postgresql", dataVersion, "bin")
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	if dirs := debianBinDirs(); len(dirs) > 0 {
		return dirs[len(dirs)-1], nil
	}
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
		if err == nil {
			dir := strings.TrimSpace(string(out))
			return dir, checkBinDir(dir)
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) in %s or from pg_config: install the postgresql package (make apps-deps does, as root)", debianBinGlob)
}

// debianBinDirs lists the complete Debian bin dirs, oldest version first
// (numerically: 9.6 < 10 < 15).
func debianBinDirs() []string {
	matches, _ := filepath.Glob(debianBinGlob)
	var dirs []string
	for _, dir := range matches {
		if checkBinDir(dir) == nil {
			dirs = append(dirs, dir)
		}
	}
	sort.Slice(dirs, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(dirs[i])), filepath.Base(filepath.Dir(dirs[j])))
	})
	return dirs
}

// versionLess compares dotted version numbers numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

func checkBinDir(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("PostgreSQL bin dir %s: %w", dir, err)
		}
		if info.Mode()&0o111 == 0 {
			return fmt.Errorf("PostgreSQL bin dir %s: %s is not executable", dir, name)
		}
	}
	return nil
}
