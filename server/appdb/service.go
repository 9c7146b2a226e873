package appdb

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Deployments is what the service needs of the orchestrator: ownership,
// and a change applied like an env change (a release, and a restart of a
// running deployment without downtime).
type Deployments interface {
	Get(ctx context.Context, ownerID, id string) (*orchestrator.Deployment, error)
	Reconfigure(ctx context.Context, ownerID, id, what string, change func(ctx context.Context, d *orchestrator.Deployment) error) (*orchestrator.Deployment, error)
	ReconfigureThen(ctx context.Context, ownerID, id, what string, change func(ctx context.Context, d *orchestrator.Deployment) error, then func(served bool)) (*orchestrator.Deployment, error)
}

// Service manages deployments' databases.
type Service struct {
	db          *bun.DB
	keys        *secrets.Keyring
	servers     Servers
	limits      Limits
	deployments Deployments
	logger      *slog.Logger
	now         func() time.Time
	usage       usageCache
	conns       connCounter
	notices     func(deploymentID, text string)
}

// New returns a Service storing its rows in db, sealing passwords with
// keys, and making databases on servers with limits. Call SetDeployments
// before serving (the orchestrator is built with the service as its
// attachment source, so the two are wired in two steps).
func New(db *bun.DB, keys *secrets.Keyring, servers Servers, limits Limits, logger *slog.Logger) *Service {
	return &Service{db: db, keys: keys, servers: servers, limits: limits, logger: logger,
		now:   func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		usage: usageCache{wake: make(chan struct{}, 1)}}
}

// SetNotices names where lines for a deployment's log go: a database
// turning read-only over its quota, and writable again.
func (s *Service) SetNotices(f func(deploymentID, text string)) { s.notices = f }

// SetDeployments names the orchestrator the service checks ownership with
// and applies changes through.
func (s *Service) SetDeployments(d Deployments) { s.deployments = d }

// Create makes a database of engine for ownerID's deployment id; a
// running deployment restarts with its variables.
func (s *Service) Create(ctx context.Context, ownerID, id string, engine Engine) (*Database, error) {
	if !engine.known() {
		return nil, errs.Field(errs.KindInvalidArgument, "engine", "unknown database engine %q", engine)
	}
	if _, err := s.deployments.Get(ctx, ownerID, id); err != nil {
		return nil, err
	}
	pg, err := s.server(ctx, engine)
	if err != nil {
		return nil, err
	}
	r := &row{DeploymentID: id, Engine: engine, Name: nameFor(id), Role: nameFor(id) + "_1", ConnectionLimit: s.limits.Connections, CreatedAt: s.now()}
	provisioned := false
	_, err = s.deployments.Reconfigure(ctx, ownerID, id, "database "+string(engine)+" created", func(ctx context.Context, _ *orchestrator.Deployment) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			exists, err := tx.NewSelect().Model((*row)(nil)).Where("deployment_id = ? AND engine = ?", id, engine).Exists(ctx)
			if err != nil {
				return fmt.Errorf("look up databases: %w", err)
			}
			if exists {
				return errs.Field(errs.KindAlreadyExists, "engine", "the deployment already has a %s database", engine)
			}
			password, err := s.seal(r)
			if err != nil {
				return err
			}
			// Under the deployment's lock and with no row naming it, a
			// database of this name is one a crash left: it goes first.
			if err := pg.Drop(ctx, r.Name); err != nil {
				return err
			}
			if err := pg.Provision(ctx, r.Name, r.Role, password, s.limits); err != nil {
				return err
			}
			provisioned = true
			_, err = tx.NewInsert().Model(r).Exec(ctx)
			return err
		})
	})
	if err != nil {
		if provisioned {
			s.drop(ctx, pg, r.Name)
		}
		return nil, s.public(err)
	}
	s.remeasure()
	return s.describe(ctx, pg, r)
}

// Get describes ownerID's deployment id's database of engine; "" means
// its only one.
func (s *Service) Get(ctx context.Context, ownerID, id string, engine Engine) (*Database, error) {
	r, err := s.find(ctx, ownerID, id, engine)
	if err != nil {
		return nil, err
	}
	b, err := s.server(ctx, r.Engine)
	if err != nil {
		return nil, err
	}
	return s.describe(ctx, b, r)
}

// List lists ownerID's deployment id's databases, measured now.
func (s *Service) List(ctx context.Context, ownerID, id string) ([]*Database, error) {
	if _, err := s.deployments.Get(ctx, ownerID, id); err != nil {
		return nil, err
	}
	var rows []row
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id).Order("engine").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	list := make([]*Database, 0, len(rows))
	for i := range rows {
		b, err := s.server(ctx, rows[i].Engine)
		if err != nil {
			return nil, err
		}
		d, err := s.describe(ctx, b, &rows[i])
		if err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, nil
}

// Delete drops ownerID's deployment id's database of engine ("" means its
// only one): a running deployment restarts without its variables, then
// the database and its role are dropped.
func (s *Service) Delete(ctx context.Context, ownerID, id string, engine Engine) error {
	r, err := s.find(ctx, ownerID, id, engine)
	if err != nil {
		return err
	}
	pg, err := s.server(ctx, r.Engine)
	if err != nil {
		return err
	}
	_, err = s.deployments.Reconfigure(ctx, ownerID, id, "database "+string(r.Engine)+" deleted", func(ctx context.Context, _ *orchestrator.Deployment) error {
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.NewDelete().Model(r).WherePK().Exec(ctx)
			return err
		})
	})
	if err != nil {
		return err
	}
	defer s.remeasure()
	return s.public(pg.Drop(ctx, r.Name))
}

// Forget drops every database of a deleted deployment (its replicas have
// stopped) and their rows.
func (s *Service) Forget(ctx context.Context, id string) error {
	var rows []row
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id).Scan(ctx); err != nil || len(rows) == 0 {
		return err
	}
	for i := range rows {
		b, err := s.servers(ctx, rows[i].Engine)
		if err != nil {
			return err
		}
		if err := b.Drop(ctx, rows[i].Name); err != nil {
			return err
		}
	}
	_, err := store.DB(ctx, s.db).NewDelete().Model((*row)(nil)).Where("deployment_id = ?", id).Exec(ctx)
	return err
}

// find loads ownerID's deployment id's database of engine; "" means its
// only one.
func (s *Service) find(ctx context.Context, ownerID, id string, engine Engine) (*row, error) {
	if _, err := s.deployments.Get(ctx, ownerID, id); err != nil {
		return nil, err
	}
	var rows []row
	q := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id)
	if engine != "" {
		q = q.Where("engine = ?", engine)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("load database: %w", err)
	}
	switch {
	case len(rows) == 0 && engine != "":
		return nil, errs.Field(errs.KindNotFound, "engine", "the deployment has no %s database", engine)
	case len(rows) == 0:
		return nil, errs.New(errs.KindNotFound, "the deployment has no database")
	case len(rows) > 1:
		return nil, errs.Field(errs.KindInvalidArgument, "engine", "the deployment has several databases; name the engine")
	}
	return &rows[0], nil
}

// describe measures r's database now, and holds it to its quota.
func (s *Service) describe(ctx context.Context, b Backend, r *row) (*Database, error) {
	all, err := b.DescribeAll(ctx, []string{r.Name})
	if err != nil {
		return nil, s.public(err)
	}
	usage, ok := all[r.Name]
	if !ok {
		return nil, fmt.Errorf("database %s is missing on its server", r.Name)
	}
	// Figures fresher than the sampler's hold the quota too.
	s.usage.put(usageSample{deploymentID: r.DeploymentID, engine: r.Engine, usage: usage, at: s.now()})
	s.holdQuota(ctx, b, r, usage)
	return &Database{DeploymentID: r.DeploymentID, Engine: r.Engine, Name: r.Name, User: r.Role,
		ConnectionLimit: r.ConnectionLimit, CreatedAt: r.CreatedAt, Usage: usage,
		ReadOnly: r.ReadOnly, MaxBytes: s.limits.MaxBytes, URL: b.App().ShownURL(r.Name, r.Role)}, nil
}

// server returns engine's server, or Unavailable saying why not.
func (s *Service) server(ctx context.Context, engine Engine) (Backend, error) {
	b, err := s.servers(ctx, engine)
	if err != nil {
		return nil, errs.New(errs.KindUnavailable, "the %s server is not available: %v", engine, err)
	}
	return b, nil
}

// public is err as its caller may see it: a server that cannot be
// reached is Unavailable, its detail logged.
func (s *Service) public(err error) error {
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		s.logger.Warn("apps' database server unreachable", "error", unreachable.Err)
		return errs.New(errs.KindUnavailable, "the database server cannot be reached; try again later")
	}
	return err
}

// drop drops a database whose creation failed after it was provisioned.
func (s *Service) drop(ctx context.Context, pg Backend, name string) {
	if err := pg.Drop(context.WithoutCancel(ctx), name); err != nil {
		s.logger.Warn("drop a database whose creation failed", "database", name, "error", err)
	}
}

// open decrypts r's password.
func (s *Service) open(r *row) (string, error) {
	data, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil {
		return "", err
	}
	plain, err := s.keys.Open(secrets.Sealed{KeyID: r.KeyID, Data: data}, secrets.AdditionalData(sealScope(r.DeploymentID), string(r.Engine)))
	if err != nil {
		return "", fmt.Errorf("the %s database's password: %w", r.Engine, err)
	}
	return string(plain), nil
}

// seal gives r a new password, sealed, and returns it in plaintext.
func (s *Service) seal(r *row) (string, error) {
	password := newPassword()
	sealed, err := s.keys.Seal([]byte(password), secrets.AdditionalData(sealScope(r.DeploymentID), string(r.Engine)))
	if err != nil {
		return "", err
	}
	r.KeyID, r.Ciphertext = sealed.KeyID, base64.StdEncoding.EncodeToString(sealed.Data)
	return password, nil
}

// newPassword is 32 random bytes, URL-safe base64: nothing in it needs
// escaping in a URL or an SQL literal.
func newPassword() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Export writes ownerID's deployment id's database of engine ("": its
// only one) to w, read as the app's own login: plain SQL for PostgreSQL,
// JSON lines for Redis.
func (s *Service) Export(ctx context.Context, ownerID, id string, engine Engine, w io.Writer) error {
	r, pg, password, err := s.loginOf(ctx, ownerID, id, engine)
	if err != nil {
		return err
	}
	return s.public(pg.Export(ctx, r.Name, r.Role, password, w))
}

// Import loads data into ownerID's deployment id's database of engine
// as the app's own login, all of it or none: SQL for PostgreSQL, an
// export's JSON lines for Redis. A failing part is InvalidArgument naming
// its line.
func (s *Service) Import(ctx context.Context, ownerID, id string, engine Engine, data []byte) error {
	r, pg, password, err := s.loginOf(ctx, ownerID, id, engine)
	if err != nil {
		return err
	}
	err = pg.Import(ctx, r.Name, r.Role, password, data)
	var bad *ImportError
	if errors.As(err, &bad) {
		return errs.Field(errs.KindInvalidArgument, "sql", "nothing was imported: %s", bad.Error())
	}
	return s.public(err)
}

// loginOf finds a database with its server and the app's password.
func (s *Service) loginOf(ctx context.Context, ownerID, id string, engine Engine) (*row, Backend, string, error) {
	r, err := s.find(ctx, ownerID, id, engine)
	if err != nil {
		return nil, nil, "", err
	}
	pg, err := s.server(ctx, r.Engine)
	if err != nil {
		return nil, nil, "", err
	}
	password, err := s.open(r)
	if err != nil {
		return nil, nil, "", err
	}
	return r, pg, password, nil
}

// Reveal returns the URL ownerID's deployment id's app connects to its
// database of engine ("": its only one) with, password and all. The
// caller checks who asks first (the transport asks for the account's
// password again).
func (s *Service) Reveal(ctx context.Context, ownerID, id string, engine Engine) (string, error) {
	r, b, password, err := s.loginOf(ctx, ownerID, id, engine)
	if err != nil {
		return "", err
	}
	view := b.App()
	_, secrets := view.Variables(r.Name, r.Role, password)
	return secrets[view.URLVariable], nil
}
