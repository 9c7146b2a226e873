const http = require("node:http");

const hoard = [];
http
  .createServer((req, res) => res.end(`holding ${hoard.length * 8} MiB\n`))
  .listen(Number(process.env.PORT || 3000), process.env.HOST || "0.0.0.0", () => {
    console.log("up; allocating 8 MiB every 20 ms");
    setInterval(() => hoard.push(Buffer.alloc(8 << 20, 1)), 20);
  });
