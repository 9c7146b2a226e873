// A visit counter in Redis: GET / counts a visit and answers the count.
// The database is the deployment's own: CodeRunner sets REDIS_URL
// (127.0.0.1:6379 inside the sandbox, carried to its server) and
// REDIS_PREFIX, the only keys its user may touch.
const http = require("http");
const { createClient } = require("redis");

const prefix = process.env.REDIS_PREFIX;
const client = createClient({ url: process.env.REDIS_URL });
client.on("error", (err) => console.error("redis: " + err.message));

async function main() {
  await client.connect();
  http.createServer(async (req, res) => {
    try {
      const visits = await client.incr(prefix + "visits");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ visits, prefix }));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err.message));
    }
  }).listen(process.env.PORT || 3000);
  console.log("redis-counter listening, REDIS_URL " + process.env.REDIS_URL);
}

main().catch((err) => {
  console.error("cannot start: " + err.message);
  process.exit(1);
});
