package pgembed

import (
	"fmt"

	"github.com/coderunner/coderunner/server/appdb/embedded"
)

// clusterUser picks the user initdb and postgres run as. PostgreSQL
// refuses to run as root, so a root CodeRunner hands the cluster to the
// "postgres" system user (created by the Debian package); any other
// CodeRunner runs it as itself.
func clusterUser() (embedded.User, error) {
	u, err := embedded.ServerUser("postgres")
	if err != nil {
		return embedded.User{}, fmt.Errorf("CodeRunner runs as root, which PostgreSQL refuses, and %w: install the postgresql package (it creates the user) or run CodeRunner as an ordinary user", err)
	}
	return u, nil
}
