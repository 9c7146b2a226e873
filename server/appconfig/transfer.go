package appconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/coderunner/coderunner/server/dotenv"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Format is how Export writes.
type Format int

// The formats Export writes.
const (
	Dotenv Format = iota
	JSON
)

// Export writes ownerID's deployment's configuration: env vars in full,
// secrets by name only.
func (s *Service) Export(ctx context.Context, ownerID, deploymentID string, format Format) (string, error) {
	d, err := s.deployments.Get(ctx, ownerID, deploymentID)
	if err != nil {
		return "", err
	}
	list, err := s.ListSecrets(ctx, ownerID, deploymentID)
	if err != nil {
		return "", err
	}
	names := make([]string, len(list))
	for i, sec := range list {
		names[i] = sec.Name
	}
	if format == JSON {
		out, err := json.MarshalIndent(map[string]any{"env": d.Env, "secrets": names}, "", "  ")
		return string(out) + "\n", err
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(d.Env)) {
		b.WriteString(dotenv.Line(name, d.Env[name]))
	}
	for _, name := range names {
		fmt.Fprintf(&b, "# %s is a secret; its value is not exported\n", name)
	}
	return b.String(), nil
}

// Import reads the .env text into ownerID's deployment: its env vars (merged
// over the existing ones) or, asSecrets, its secrets. Everything applies,
// with one restart of a running deployment, or nothing does.
func (s *Service) Import(ctx context.Context, ownerID, actor, deploymentID, text string, asSecrets bool) ([]string, error) {
	vars, err := dotenv.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(vars) == 0 {
		return nil, errs.Field(errs.KindInvalidArgument, "dotenv", "the file sets no variable")
	}
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v.Name
	}
	what := "environment"
	if asSecrets {
		what = "secrets"
	}
	_, err = s.deployments.Reconfigure(ctx, ownerID, deploymentID, fmt.Sprintf("%s imported: %s", what, strings.Join(names, ", ")), func(ctx context.Context, d *orchestrator.Deployment) error {
		if !asSecrets {
			return mergeEnv(d, vars)
		}
		return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			return s.importSecrets(ctx, tx, deploymentID, actor, vars)
		})
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// mergeEnv sets vars in d's env, within the env limit.
func mergeEnv(d *orchestrator.Deployment, vars []dotenv.Variable) error {
	env := maps.Clone(d.Env)
	if env == nil {
		env = map[string]string{}
	}
	for _, v := range vars {
		env[v.Name] = v.Value
	}
	if len(env) > 100 {
		return errs.Field(errs.KindInvalidArgument, "dotenv", "the deployment would have %d environment variables, over the limit of 100", len(env))
	}
	d.Env = env
	return nil
}

// importSecrets seals and stores every variable as a secret in tx.
func (s *Service) importSecrets(ctx context.Context, tx bun.IDB, deploymentID, actor string, vars []dotenv.Variable) error {
	for _, v := range vars {
		sealed, err := s.keys.Seal([]byte(v.Value), secrets.AdditionalData(deploymentID, v.Name))
		if err != nil {
			return err
		}
		if err := s.upsert(ctx, tx, new(secretRow), deploymentID, v.Name, actor, sealed); err != nil {
			return err
		}
	}
	return nil
}
