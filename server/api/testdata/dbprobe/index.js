// Probes what the app's DATABASE_URL reaches: GET /connect?db=NAME tries
// its credentials on another database; GET /query?sql=... runs SQL on its
// own; GET /print logs its credentials. Each answers {"ok": bool, "error": "...", "rows": [...]}.
const http = require("http");
const { Client } = require("pg");

async function attempt(config, sql) {
  const client = new Client(config);
  try {
    await client.connect();
    const res = await client.query(sql || "SELECT 1 AS one");
    return { ok: true, rows: res.rows };
  } catch (err) {
    return { ok: false, error: err.message };
  } finally {
    client.end().catch(() => {});
  }
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://probe");
  let out;
  if (url.pathname === "/connect") {
    const target = new URL(process.env.DATABASE_URL);
    target.pathname = "/" + url.searchParams.get("db");
    out = await attempt({ connectionString: target.toString() });
  } else if (url.pathname === "/print") {
    // A careless app logs its connection string.
    console.log("connecting with " + process.env.DATABASE_URL + " password " + process.env.PGPASSWORD);
    out = { ok: true };
  } else if (url.pathname === "/query") {
    out = await attempt({ connectionString: process.env.DATABASE_URL }, url.searchParams.get("sql"));
  } else {
    out = { ok: true, env: Object.keys(process.env).filter((k) => k.startsWith("PG") || k === "DATABASE_URL").sort() };
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(out));
}).listen(process.env.PORT || 3000);
