package pgembed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// adminRole is the superuser initdb creates. CodeRunner connects as it to
// create each deployment's role and database.
const adminRole = "coderunner"

// The files and dirs under Options.Dir.
const (
	dataDirName      = "data"
	initDirName      = "data.init" // initdb's work in progress, renamed to data when complete
	passwordFileName = "admin-password"
	configFileName   = "coderunner.conf" // in the data dir, included by postgresql.conf
)

// hbaConf allows only password (SCRAM) logins over the unix socket: no
// TCP lines at all, and no trust or peer, so being root or the postgres
// user on the machine is not enough to log in without the password.
const hbaConf = `# Written by CodeRunner: unix socket only, SCRAM passwords only.
# TYPE  DATABASE  USER  METHOD
local   all       all   scram-sha-256
`

// clusterConf holds the tunables; an operator may change them. Where the
// server listens is deliberately not here but on postgres's command line
// (see launch), which overrides this file and ALTER SYSTEM alike.
const clusterConf = `# Written by CodeRunner when it created this cluster.
# Many small app databases, each with a few connections: a modest memory
# footprint matters more than throughput.
max_connections = 200
shared_buffers = 32MB
password_encryption = 'scram-sha-256'
`

// initialised reports whether dir/data holds a complete cluster. initdb
// works in data.init and only a finished, configured cluster is renamed to
// data, so a crash in the middle leaves nothing that looks usable.
func initialised(dataDir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// dataVersion is the major version that created the cluster, or "".
func dataVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// initCluster creates the cluster in c.dir/data with a new random admin
// password, which it keeps in c.dir/admin-password first: a cluster must
// never exist whose password is lost.
func (c *Cluster) initCluster(ctx context.Context) (password string, err error) {
	initDir := filepath.Join(c.dir, initDirName)
	if err := os.RemoveAll(initDir); err != nil {
		return "", err
	}
	if err := c.user.MkdirOwned(initDir, 0o700); err != nil {
		return "", err
	}
	password, err = newPassword()
	if err != nil {
		return "", err
	}
	if err := embedded.WriteFileAtomic(filepath.Join(c.dir, passwordFileName), []byte(password+"\n")); err != nil {
		return "", fmt.Errorf("keep the admin password: %w", err)
	}
	// initdb reads the password from a file; the kept copy belongs to
	// CodeRunner's user, so the postgres user gets a short-lived one.
	pwFile := filepath.Join(c.dir, ".initdb-password")
	if err := c.user.WriteOwned(pwFile, []byte(password+"\n")); err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(pwFile) }()

	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"),
		"--pgdata="+initDir,
		"--username="+adminRole,
		"--pwfile="+pwFile,
		"--auth=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
		"--no-instructions",
	)
	cmd.Dir = c.dir // initdb looks up its cwd; root's may be closed to postgres
	cmd.Env = embedded.Env()
	cmd.SysProcAttr = c.user.SysProcAttr()
	out, err := cmd.CombinedOutput()
	c.logger.Debug("initdb", "output", string(out))
	if err != nil {
		return "", fmt.Errorf("initdb in %s: %w: %s", initDir, err, strings.TrimSpace(string(out)))
	}
	if err := c.configure(initDir); err != nil {
		return "", err
	}
	if err := os.Rename(initDir, filepath.Join(c.dir, dataDirName)); err != nil {
		return "", err
	}
	return password, embedded.SyncDir(c.dir)
}

// configure replaces initdb's pg_hba.conf and adds CodeRunner's settings.
func (c *Cluster) configure(dataDir string) error {
	// The files initdb wrote belong to the cluster's user already; writing
	// over them keeps that owner.
	if err := os.WriteFile(filepath.Join(dataDir, "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
		return err
	}
	if err := c.user.WriteOwned(filepath.Join(dataDir, configFileName), []byte(clusterConf)); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "\ninclude '%s'\n", configFileName); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// readPassword reads the admin password kept at initdb.
func readPassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, passwordFileName))
	if err != nil {
		return "", fmt.Errorf("the cluster in %s exists but its admin password cannot be read (%w); without it CodeRunner cannot log in", dir, err)
	}
	password := strings.TrimSpace(string(b))
	if password == "" {
		return "", fmt.Errorf("%s is empty", filepath.Join(dir, passwordFileName))
	}
	return password, nil
}

// newPassword returns 32 random bytes in hex: URL-safe, so AdminURL needs
// no escaping.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
