// Notes in PostgreSQL: GET / lists them, POST / with a body adds one.
// The database is the deployment's own: CodeRunner sets DATABASE_URL
// (127.0.0.1:5432 inside the sandbox, carried to its server).
const http = require("http");
const { Pool } = require("pg");

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

async function main() {
  await pool.query("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)");
  http.createServer(async (req, res) => {
    try {
      if (req.method === "POST") {
        let body = "";
        for await (const chunk of req) body += chunk;
        const { rows } = await pool.query("INSERT INTO notes (body) VALUES ($1) RETURNING id", [body]);
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: rows[0].id }));
        return;
      }
      const { rows } = await pool.query("SELECT id, body FROM notes ORDER BY id");
      const who = await pool.query("SELECT current_user AS user, current_database() AS db");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ notes: rows, user: who.rows[0].user, database: who.rows[0].db }));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err.message));
    }
  }).listen(process.env.PORT || 3000);
  console.log("postgres-notes listening");
}

main().catch((err) => {
  console.error("cannot start: " + err.message);
  process.exit(1);
});
