const express = require("express");

const app = express();
app.use(express.json());

const notes = [];
app.get("/health", (req, res) => res.send("ok"));
app.get("/", (req, res) => res.json({ app: "express-app", express: require("express/package.json").version }));
app.get("/notes", (req, res) => res.json(notes));
app.post("/notes", (req, res) => {
  notes.push(req.body);
  res.status(201).json(req.body);
});

app.listen(Number(process.env.PORT || 3000), process.env.HOST || "0.0.0.0", () => {
  console.log(`express listening on ${process.env.PORT}`);
});
