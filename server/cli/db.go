package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

const dbUsage = `db create NAME|ID [--engine redis] [--json]  give the deployment a PostgreSQL database (DATABASE_URL),
                                                        or a Redis one (REDIS_URL, REDIS_PREFIX)
       coderunner db info NAME|ID [--json]      its name, user, size, connections and URL (password redacted)
       coderunner db export NAME|ID > dump      its dump to stdout: plain SQL, or JSON lines for Redis
       coderunner db import NAME|ID < dump      load a dump (or any SQL), all of it or nothing
       coderunner db rotate NAME|ID             new credentials; the app restarts with them, without downtime
       coderunner db rm NAME|ID                 drop it and everything in it

--engine (postgres or redis) picks the database of a deployment that has
both. A running deployment restarts with a change, without downtime.`

// engineNames are --engine's values.
var engineNames = map[string]coderunnerv1.DatabaseEngine{
	"":         coderunnerv1.DatabaseEngine_DATABASE_ENGINE_UNSPECIFIED,
	"postgres": coderunnerv1.DatabaseEngine_DATABASE_ENGINE_POSTGRES,
	"redis":    coderunnerv1.DatabaseEngine_DATABASE_ENGINE_REDIS,
}

func dbCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("db", dbUsage, env.Stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON (create, info, rotate)")
	engineName := fs.String("engine", "", "postgres or redis")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 || !slices.Contains([]string{"create", "info", "export", "import", "rotate", "rm"}, rest[0]) {
		return usageError(fs, "say what to do (create, info, export, import, rotate or rm) and to which deployment")
	}
	engine, ok := engineNames[*engineName]
	if !ok {
		return usageError(fs, "--engine is postgres or redis, not %q", *engineName)
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, rest[1])
	if err != nil {
		return err
	}
	var db *coderunnerv1.Database
	switch rest[0] {
	case "create":
		if engine == coderunnerv1.DatabaseEngine_DATABASE_ENGINE_UNSPECIFIED {
			engine = coderunnerv1.DatabaseEngine_DATABASE_ENGINE_POSTGRES
		}
		res, err := c.databases.CreateDatabase(ctx, connect.NewRequest(&coderunnerv1.CreateDatabaseRequest{DeploymentId: d.GetId(), Engine: engine}))
		if err != nil {
			return err
		}
		db = res.Msg.GetDatabase()
		if !*asJSON {
			variable := "DATABASE_URL"
			if engine == coderunnerv1.DatabaseEngine_DATABASE_ENGINE_REDIS {
				variable = "REDIS_URL"
			}
			fmt.Fprintf(env.Stdout, "created database %s for %s; it restarts with %s\n", db.GetName(), d.GetName(), variable)
			return nil
		}
	case "info":
		res, err := c.databases.GetDatabase(ctx, connect.NewRequest(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId(), Engine: engine}))
		if err != nil {
			return err
		}
		db = res.Msg.GetDatabase()
	case "export":
		return exportDatabase(ctx, env, c, d, engine)
	case "import":
		return importDatabase(ctx, env, c, d, engine)
	case "rotate":
		res, err := c.databases.RotateDatabaseCredentials(ctx, connect.NewRequest(&coderunnerv1.RotateDatabaseCredentialsRequest{DeploymentId: d.GetId(), Engine: engine}))
		if err != nil {
			return err
		}
		db = res.Msg.GetDatabase()
		if !*asJSON {
			fmt.Fprintf(env.Stdout, "%s now connects as %s; the old login goes once the old replicas have stopped\n", d.GetName(), db.GetUser())
			return nil
		}
	case "rm":
		if _, err := c.databases.DeleteDatabase(ctx, connect.NewRequest(&coderunnerv1.DeleteDatabaseRequest{DeploymentId: d.GetId(), Engine: engine})); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "dropped the database of %s\n", d.GetName())
		return nil
	}
	if *asJSON {
		return printJSON(env.Stdout, db)
	}
	printDatabase(env.Stdout, db)
	return nil
}

func printDatabase(w io.Writer, db *coderunnerv1.Database) {
	engine := strings.ToLower(strings.TrimPrefix(db.GetEngine().String(), "DATABASE_ENGINE_"))
	size := formatSize(db.GetSizeBytes())
	if db.GetMaxBytes() > 0 {
		size += " of " + formatSize(db.GetMaxBytes())
	}
	if db.GetReadOnly() {
		size += " (over its quota: read-only)"
	}
	fmt.Fprintf(w, "Engine:       %s\nName:         %s\nUser:         %s\nSize:         %s\nConnections:  %d of %d\nURL:          %s\nCreated:      %s\n",
		engine, db.GetName(), db.GetUser(), size, db.GetConnections(), db.GetConnectionLimit(), db.GetUrl(),
		db.GetCreatedAt().AsTime().Local().Format("2006-01-02 15:04:05"))
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}

// exportDatabase writes the deployment's database dump to stdout as it
// streams in.
func exportDatabase(ctx context.Context, env Env, c clients, d *coderunnerv1.Deployment, engine coderunnerv1.DatabaseEngine) error {
	stream, err := c.databases.ExportDatabase(ctx, connect.NewRequest(&coderunnerv1.ExportDatabaseRequest{DeploymentId: d.GetId(), Engine: engine}))
	if err != nil {
		return err
	}
	defer func() { _ = stream.Close() }()
	for stream.Receive() {
		if _, err := env.Stdout.Write(stream.Msg().GetChunk()); err != nil {
			return err
		}
	}
	return stream.Err()
}

// importDatabase loads stdin into the deployment's database.
func importDatabase(ctx context.Context, env Env, c clients, d *coderunnerv1.Deployment, engine coderunnerv1.DatabaseEngine) error {
	data, err := io.ReadAll(env.Stdin)
	if err != nil {
		return err
	}
	if _, err := c.databases.ImportDatabase(ctx, connect.NewRequest(&coderunnerv1.ImportDatabaseRequest{DeploymentId: d.GetId(), Engine: engine, Sql: data})); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %s into the database of %s\n", formatSize(int64(len(data))), d.GetName())
	return nil
}
