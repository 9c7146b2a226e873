// Answers questions about its own sandbox, for the isolation tests:
//   /read?path=P          -> {ok, error}
//   /write?path=P         -> {ok, error}
//   /connect?host=H&port=N -> {ok, error}   (TCP connect, 1 s timeout)
//   /fill?path=P&mb=N     -> writes N MiB to P
//   /print?n=N&tag=T      -> prints "T 1" ... "T N" to stdout
//   /tick?n=N&rate=R&tag=T -> prints "T i <ms since epoch>" R times a second
//   /long?kb=K            -> prints one K KiB line, then "after long"
//   /env                  -> the environment
//   /whoami               -> {uid, gid, pid}
//   /sse?every=MS&n=N     -> server-sent events, one per MS (50) ms, N (5) in all
//   /status?code=N&ms=M   -> answers status N after M ms (for metrics)
//   /burn                 -> starts a thread that spins forever (CPU metrics)
//   /hold?mb=N            -> allocates N MiB more and keeps it (memory metrics)
//   upgrade               -> 101, then echoes bytes
const http = require("node:http");
const fs = require("node:fs");
const net = require("node:net");
const crypto = require("node:crypto");
const { Worker } = require("node:worker_threads");

// Memory /hold keeps alive.
const held = [];

// Differs per process, so tests can tell replicas apart.
const instance = crypto.randomBytes(8).toString("hex");

function reply(res, body) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body) + "\n");
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://probe");
    const q = url.searchParams;
    switch (url.pathname) {
      case "/read":
        try {
          reply(res, { ok: true, content: fs.readFileSync(q.get("path"), "utf8").slice(0, 200) });
        } catch (e) {
          reply(res, { ok: false, error: e.code || String(e) });
        }
        return;
      case "/write":
        try {
          fs.writeFileSync(q.get("path"), "probe");
          reply(res, { ok: true });
        } catch (e) {
          reply(res, { ok: false, error: e.code || String(e) });
        }
        return;
      case "/connect": {
        const socket = net.connect({ host: q.get("host"), port: Number(q.get("port")) });
        const done = (body) => {
          socket.destroy();
          if (!res.headersSent) reply(res, body);
        };
        socket.setTimeout(1000, () => done({ ok: false, error: "timeout" }));
        socket.on("connect", () => done({ ok: true }));
        socket.on("error", (e) => done({ ok: false, error: e.code || String(e) }));
        return;
      }
      case "/fill":
        // Writes a file of `mb` MiB, to test the disk quota.
        try {
          fs.writeFileSync(q.get("path"), Buffer.alloc(Number(q.get("mb")) << 20, 1));
          reply(res, { ok: true });
        } catch (e) {
          reply(res, { ok: false, error: e.code || String(e) });
        }
        return;
      case "/print": {
        // Prints n numbered lines to stdout as fast as it can.
        const n = Number(q.get("n"));
        const tag = q.get("tag") || "line";
        let chunk = "";
        for (let i = 1; i <= n; i++) {
          chunk += `${tag} ${i}\n`;
          if (chunk.length > 16384) {
            process.stdout.write(chunk);
            chunk = "";
          }
        }
        process.stdout.write(chunk);
        reply(res, { ok: true, printed: n });
        return;
      }
      case "/flood": {
        // Prints numbered lines for ms milliseconds as fast as stdout takes
        // them: 16 KiB writes, waiting for "drain" when stdout pushes back
        // (as a Node app logging through a stream does).
        const until = performance.now() + Number(q.get("ms"));
        const tag = q.get("tag") || "flood";
        let i = 0;
        const pump = () => {
          while (performance.now() < until) {
            let chunk = "";
            while (chunk.length < 16384) chunk += `${tag} ${++i}\n`;
            if (!process.stdout.write(chunk)) {
              process.stdout.once("drain", pump);
              return;
            }
          }
          reply(res, { ok: true, printed: i });
        };
        pump();
        return;
      }
      case "/tick": {
        // Prints n lines at rate lines/s, each carrying the wall-clock
        // time (ms, fractional) it was printed at, for latency benchmarks.
        const n = Number(q.get("n"));
        const rate = Number(q.get("rate"));
        const tag = q.get("tag") || "tick";
        let i = 0;
        const start = performance.now();
        const timer = setInterval(() => {
          const due = Math.min(n, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
          for (; i < due; i++) {
            process.stdout.write(`${tag} ${i + 1} ${performance.timeOrigin + performance.now()}\n`);
          }
          if (i >= n) clearInterval(timer);
        }, 1);
        reply(res, { ok: true });
        return;
      }
      case "/long": {
        // Prints one line of kb KiB, then "after long".
        process.stdout.write("L".repeat(Number(q.get("kb")) * 1024) + "\nafter long\n");
        reply(res, { ok: true });
        return;
      }
      case "/env":
        reply(res, process.env);
        return;
      case "/whoami":
        reply(res, { uid: process.getuid(), gid: process.getgid(), pid: process.pid, instance });
        return;
      case "/sse": {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const every = Number(q.get("every") || 50);
        const count = Number(q.get("n") || 5);
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === count) {
            clearInterval(timer);
            res.end();
          }
        }, every);
        req.on("close", () => clearInterval(timer));
        return;
      }
      case "/status": {
        // Reads the whole body first: an answer sent before it would let
        // the proxy stop sending it, and the bytes-in count would vary.
        const code = Number(q.get("code") || 200);
        req.resume();
        req.on("end", () => setTimeout(() => {
          res.writeHead(code, { "content-type": "text/plain" });
          res.end(`status ${code}\n`);
        }, Number(q.get("ms") || 0)));
        return;
      }
      case "/burn":
        // A worker thread spins so the main thread keeps answering.
        new Worker("for (;;) {}", { eval: true });
        reply(res, { ok: true });
        return;
      case "/hold":
        // Buffer.alloc fills with zeros, so the pages are really touched.
        held.push(Buffer.alloc(Number(q.get("mb")) << 20, 1));
        reply(res, { ok: true, held_mb: held.reduce((n, b) => n + b.length, 0) >> 20 });
        return;
      default:
        reply(res, { probe: true });
    }
  })
  // A WebSocket-style upgrade that echoes raw bytes, to prove the router
  // passes upgrades through.
  .on("upgrade", (req, socket) => {
    const accept = crypto
      .createHash("sha1")
      .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.pipe(socket);
  })
  .listen(Number(process.env.PORT), process.env.HOST);
