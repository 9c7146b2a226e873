import { TransportProvider } from "@connectrpc/connect-query";
import type { Transport } from "@connectrpc/connect";
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { Suspense, lazy } from "react";
import type * as React from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { Layout } from "@/components/Layout";
import { Spinner } from "@/components/ui/spinner";
import { TokenStoreProvider, useSession } from "@/lib/auth";
import type { TokenStore } from "@/lib/session";
import { AccountPage } from "@/pages/AccountPage";
import { ActivityPage } from "@/pages/ActivityPage";
import { AuthPage } from "@/pages/AuthPage";
import { DeploymentPage } from "@/pages/DeploymentPage";
import { DeploymentsPage } from "@/pages/DeploymentsPage";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { ProjectSettingsPage } from "@/pages/ProjectSettingsPage";
import { ProjectsPage } from "@/pages/ProjectsPage";

// The editor (CodeMirror) is only needed on this page: load it on demand.
const NewDeploymentPage = lazy(() => import("@/pages/NewDeploymentPage"));

export function AppProviders({
  transport,
  tokenStore,
  queryClient,
  children,
}: {
  transport: Transport;
  tokenStore: TokenStore;
  queryClient: QueryClient;
  children: React.ReactNode;
}) {
  return (
    <TokenStoreProvider store={tokenStore}>
      <TransportProvider transport={transport}>
        <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
      </TransportProvider>
    </TokenStoreProvider>
  );
}

function RequireAuth({ children }: { children: React.ReactNode }) {
  const { token, signedOut } = useSession();
  const location = useLocation();
  if (!token) {
    // After an expired or revoked session, signing in again returns here;
    // after signing out, the next sign-in starts at home.
    const state = signedOut ? undefined : { from: location.pathname + location.search };
    return <Navigate to="/login" replace state={state} />;
  }
  return children;
}

function RedirectIfSignedIn({ children }: { children: React.ReactNode }) {
  const { token } = useSession();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  if (token) return <Navigate to={from && from.startsWith("/") ? from : "/"} replace />;
  return children;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route
        path="/login"
        element={
          <RedirectIfSignedIn>
            <AuthPage mode="login" />
          </RedirectIfSignedIn>
        }
      />
      <Route
        path="/register"
        element={
          <RedirectIfSignedIn>
            <AuthPage mode="register" />
          </RedirectIfSignedIn>
        }
      />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<DeploymentsPage />} />
        <Route
          path="new"
          element={
            <Suspense fallback={<Spinner label="Loading the editor" />}>
              <NewDeploymentPage />
            </Suspense>
          }
        />
        <Route path="deployments/:id" element={<DeploymentPage />} />
        <Route path="projects" element={<ProjectsPage />} />
        <Route path="projects/:id" element={<ProjectSettingsPage />} />
        <Route path="activity" element={<ActivityPage />} />
        <Route path="account" element={<AccountPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
