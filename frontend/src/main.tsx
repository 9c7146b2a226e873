import { Code, ConnectError } from "@connectrpc/connect";
import { QueryClient } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { AppProviders, AppRoutes } from "@/App";
import { createAppTransport, createTokenStore } from "@/lib/session";
import "./index.css";

const tokenStore = createTokenStore(window.localStorage);
const transport = createAppTransport(window.location.origin, tokenStore);

// Errors that a retry cannot fix are shown at once.
const noRetry = new Set<Code>([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.NotFound,
  Code.InvalidArgument,
  Code.Unimplemented,
  Code.FailedPrecondition,
  Code.AlreadyExists,
]);

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, err) => count < 2 && !(err instanceof ConnectError && noRetry.has(err.code)),
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

// Signing out (or a rejected token) drops every cached answer of the old session.
tokenStore.subscribe(() => {
  if (!tokenStore.get()) queryClient.clear();
});

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <AppProviders transport={transport} tokenStore={tokenStore} queryClient={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </AppProviders>
  </StrictMode>,
);
