// Rendering pages against a fake server: connect's router transport runs
// real handlers for the generated service descriptors in memory.

import { type ConnectRouter, type Transport, createRouterTransport } from "@connectrpc/connect";
import { QueryClient } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type * as React from "react";
import { MemoryRouter } from "react-router";
import { AppProviders, AppRoutes } from "@/App";
import { authInterceptor, createTokenStore } from "@/lib/session";

/**
 * renderApp renders the app (or children) at route. The fake server is
 * either a ready transport or routes, which then go through the same auth
 * interceptor as the real transport.
 */
export function renderApp(opts: {
  transport?: Transport;
  routes?: (router: ConnectRouter) => void;
  route: string;
  token?: string;
  children?: React.ReactNode;
}) {
  const tokenStore = createTokenStore(null);
  if (opts.token) tokenStore.set(opts.token);
  const transport =
    opts.transport ??
    createRouterTransport(opts.routes ?? (() => {}), { transport: { interceptors: [authInterceptor(tokenStore)] } });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const utils = render(
    <AppProviders transport={transport} tokenStore={tokenStore} queryClient={queryClient}>
      <MemoryRouter initialEntries={[opts.route]}>{opts.children ?? <AppRoutes />}</MemoryRouter>
    </AppProviders>,
  );
  return { ...utils, tokenStore, queryClient };
}
