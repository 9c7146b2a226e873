const http = require("node:http");

const after = Number(process.env.CRASH_AFTER_MS || 300);
http
  .createServer((req, res) => res.end("still alive\n"))
  .listen(Number(process.env.PORT || 3000), process.env.HOST || "0.0.0.0", () => {
    console.log(`up; crashing in ${after} ms`);
    setTimeout(() => {
      console.error("fatal: simulated crash");
      process.exit(3);
    }, after);
  });
