// ESLint for the dashboard: ESLint's and typescript-eslint's recommended
// rules, and React's hooks rules (rules of hooks, exhaustive deps, and the
// React Compiler's checks). Types are tsc's job (npm run typecheck); the
// rules here are the syntactic ones, which keep the lint quick.

import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  // dist is the build; src/gen is written by buf generate (make generate).
  globalIgnores(["dist/", "src/gen/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  {
    // tsc checks these JavaScript files too (allowJs and checkJs), and it
    // knows Node's and the browser's globals, which no-undef would need
    // listed: typescript-eslint turns no-undef off for TypeScript for the
    // same reason.
    files: ["**/*.{js,mjs}"],
    rules: { "no-undef": "off" },
  },
  {
    // A fake server-streaming handler is an async generator even when it
    // fails or waits before its first message, so it has no yield.
    files: ["src/**/*.test.{ts,tsx}"],
    rules: { "require-yield": "off" },
  },
);
