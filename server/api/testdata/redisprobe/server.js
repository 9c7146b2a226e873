// Test app: GET /try?cmd=C&arg=A&arg=B runs one Redis command through
// REDIS_URL and answers {ok, reply} or {ok: false, error}; GET
// /fill?kib=N stores N KiB under REDIS_PREFIX + "fill".
const http = require("http");
const { createClient } = require("redis");

const client = createClient({ url: process.env.REDIS_URL });
client.on("error", (err) => console.error("redis: " + err.message));

async function answer(res, run) {
  try {
    const reply = await run();
    res.end(JSON.stringify({ ok: true, reply: String(reply) }));
  } catch (err) {
    res.end(JSON.stringify({ ok: false, error: err.message }));
  }
}

client.connect().then(() => {
  http.createServer((req, res) => {
    const url = new URL(req.url, "http://app");
    res.setHeader("content-type", "application/json");
    if (url.pathname === "/fill") {
      const kib = Number(url.searchParams.get("kib"));
      return answer(res, () => client.set(process.env.REDIS_PREFIX + "fill", "x".repeat(kib * 1024)));
    }
    const args = url.searchParams.getAll("arg");
    return answer(res, () => client.sendCommand([url.searchParams.get("cmd"), ...args]));
  }).listen(process.env.PORT || 3000);
  console.log("redisprobe listening");
});
