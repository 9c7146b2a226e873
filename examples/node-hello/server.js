// The smallest CodeRunner app: answer on $PORT.
const http = require("node:http");

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "0.0.0.0";

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ message: process.env.GREETING || "Hello from CodeRunner", path: req.url, pid: process.pid }) + "\n");
});

server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on("SIGTERM", () => {
  console.log("SIGTERM received, closing");
  server.close(() => process.exit(0));
});
