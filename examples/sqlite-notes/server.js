const fs = require("fs");
const http = require("http");
const path = require("path");
const Database = require("better-sqlite3");

// node-gyp leaves its object files beside the module it compiled; a
// prebuilt binary comes without them.
const moduleDir = path.dirname(require.resolve("better-sqlite3/package.json"));
const binding = fs.existsSync(path.join(moduleDir, "build", "Release", "obj.target")) ? "compiled" : "prebuilt";

// DATA_DIR outlives redeploys; the app dir does not.
const db = new Database(path.join(process.env.DATA_DIR || ".", "notes.db"));
db.pragma("journal_mode = WAL");
db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, at TEXT NOT NULL)");
const insert = db.prepare("INSERT INTO notes (at) VALUES (?)");
const count = db.prepare("SELECT count(*) AS n FROM notes");
const version = db.prepare("SELECT sqlite_version() AS v").get().v;

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.end("ok");
    return;
  }
  insert.run(new Date().toISOString());
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ app: "sqlite-notes", notes: count.get().n, binding, sqlite: version }));
});

server.listen(Number(process.env.PORT || 3000), process.env.HOST || "0.0.0.0", () => {
  console.log(`sqlite-notes listening on ${process.env.PORT}`);
});

// Every request is answered synchronously, so none is half done here.
process.on("SIGTERM", () => {
  db.close();
  process.exit(0);
});
