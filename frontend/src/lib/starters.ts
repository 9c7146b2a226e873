// One-click starters: the files of examples/ in this repository, bundled at
// build time so they never drift from what the server's tests deploy.

import { Runtime } from "@/gen/coderunner/v1/deployment_pb";

const raw = import.meta.glob<string>("../../../examples/{node-hello,express-app,manifest-blog}/**/*", {
  query: "?raw",
  import: "default",
  eager: true,
});

export interface StarterFile {
  path: string;
  content: string;
}

export interface Starter {
  id: string;
  title: string;
  description: string;
  name: string;
  runtime: Runtime;
  files: StarterFile[];
}

function filesOf(dir: string): StarterFile[] {
  const prefix = `../../../examples/${dir}/`;
  return Object.entries(raw)
    .filter(([p]) => p.startsWith(prefix))
    .map(([p, content]) => ({ path: p.slice(prefix.length), content }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

export const starters: Starter[] = [
  {
    id: "node-hello",
    title: "Node.js hello",
    description: "A plain HTTP server, no dependencies.",
    name: "hello",
    runtime: Runtime.NODEJS,
    files: filesOf("node-hello"),
  },
  {
    id: "express-app",
    title: "Express",
    description: "An Express app; dependencies installed at build.",
    name: "express-app",
    runtime: Runtime.NODEJS,
    files: filesOf("express-app"),
  },
  {
    id: "manifest-blog",
    title: "Blog API (manifest)",
    description: "A manifest.yaml that becomes a CRUD API.",
    name: "blog",
    runtime: Runtime.MANIFEST,
    files: filesOf("manifest-blog"),
  },
];
