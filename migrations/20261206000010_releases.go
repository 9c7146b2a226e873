package migrations

import (
	"context"
	"encoding/json"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Releases record what each deploy, redeploy, configuration change and
// rollback ran: the source, the build, the env and the secret versions
// (never values). A rollback runs an old release's exact source and
// config, so the secret versions it names are kept in
// deployment_secret_versions, sealed like the current ones.
//
// Every live deployment gets release 1, its current state. A Go migration
// because that release's secret versions are a JSON object built from
// deployment_secrets, which the two databases build differently.
func registerReleases(set *migrate.Migrations) {
	set.MustRegister(
		func(ctx context.Context, db *bun.DB) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if err := execAll(ctx, tx, releasesUp); err != nil {
					return err
				}
				return recordFirstReleases(ctx, tx)
			})
		},
		func(ctx context.Context, db *bun.DB) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return execAll(ctx, tx, []string{
					`ALTER TABLE deployments DROP COLUMN release_number`,
					`DROP TABLE deployment_secret_versions`,
					`DROP TABLE deployment_releases`,
				})
			})
		})
}

var releasesUp = []string{
	`CREATE TABLE deployment_releases (
    deployment_id   TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    number          BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    description     TEXT NOT NULL,
    source_digest   TEXT NOT NULL,
    build_key       TEXT NOT NULL,
    env             TEXT NOT NULL,
    secret_versions TEXT NOT NULL,
    cpu_millicores  BIGINT NOT NULL,
    memory_bytes    BIGINT NOT NULL,
    rollback_of     BIGINT NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    pruned          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (deployment_id, number)
)`,
	`CREATE TABLE deployment_secret_versions (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    key_id        TEXT NOT NULL,
    ciphertext    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (deployment_id, name, version)
)`,
	`INSERT INTO deployment_secret_versions (deployment_id, name, version, key_id, ciphertext, created_by, created_at)
    SELECT deployment_id, name, version, key_id, ciphertext, updated_by, updated_at FROM deployment_secrets`,
	`ALTER TABLE deployments ADD COLUMN release_number BIGINT NOT NULL DEFAULT 0`,
}

func execAll(ctx context.Context, tx bun.Tx, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// recordFirstReleases gives every live deployment release 1: what it runs
// now.
func recordFirstReleases(ctx context.Context, tx bun.Tx) error {
	var rows []struct {
		ID            string       `bun:"id"`
		OwnerID       string       `bun:"owner_id"`
		SourceDigest  string       `bun:"source_digest"`
		Env           string       `bun:"env"`
		CPUMillicores int64        `bun:"cpu_millicores"`
		MemoryBytes   int64        `bun:"memory_bytes"`
		UpdatedAt     bun.NullTime `bun:"updated_at"`
	}
	if err := tx.NewRaw(`SELECT id, owner_id, source_digest, env, cpu_millicores, memory_bytes, updated_at FROM deployments WHERE status <> 'destroyed'`).Scan(ctx, &rows); err != nil {
		return err
	}
	for _, d := range rows {
		var secrets []struct {
			Name    string `bun:"name"`
			Version int64  `bun:"version"`
		}
		if err := tx.NewRaw(`SELECT name, version FROM deployment_secrets WHERE deployment_id = ?`, d.ID).Scan(ctx, &secrets); err != nil {
			return err
		}
		versions := map[string]int64{}
		for _, s := range secrets {
			versions[s.Name] = s.Version
		}
		encoded, err := json.Marshal(versions)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_releases
    (deployment_id, number, kind, description, source_digest, build_key, env, secret_versions, cpu_millicores, memory_bytes, created_by, created_at)
    VALUES (?, 1, 'deploy', 'what ran when releases were introduced', ?, '', ?, ?, ?, ?, ?, ?)`,
			d.ID, d.SourceDigest, d.Env, string(encoded), d.CPUMillicores, d.MemoryBytes, d.OwnerID, d.UpdatedAt.Time); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET release_number = 1 WHERE id = ?`, d.ID); err != nil {
			return err
		}
	}
	return nil
}
