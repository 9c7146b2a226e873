import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// Paths the Go server answers itself; everything else is the single-page app.
const apiTarget = process.env.CODERUNNER_API ?? "http://localhost:8080";
const apiPaths = ["^/coderunner\\.v1\\.", "^/grpc\\.", "^/api/", "^/health$", "^/metrics$"];

// dist/.gitkeep is committed so the Go binary's go:embed compiles before
// the first build; emptyOutDir removes it, so it is written back.
const keepGitkeep = {
  name: "keep-gitkeep",
  closeBundle() {
    writeFileSync(fileURLToPath(new URL("./dist/.gitkeep", import.meta.url)), "");
  },
};

export default defineConfig({
  plugins: [react(), tailwindcss(), keepGitkeep],
  resolve: {
    alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) },
  },
  server: {
    // The starters are imported from ../examples at build time.
    fs: { allow: [".."] },
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: apiTarget, changeOrigin: false }])),
  },
  preview: {
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: apiTarget, changeOrigin: false }])),
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // jsdom tests that type a whole form run near 5 s (vitest's default)
    // on a loaded 2-core CI machine.
    testTimeout: 20_000,
  },
});
