import type * as React from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { LogOut, Moon, Plus, Sun } from "lucide-react";
import { NavLink, Outlet } from "react-router";
import { ProjectSelector } from "@/components/ProjectSelector";
import { Button } from "@/components/ui/button";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { useSession } from "@/lib/auth";
import { cn } from "@/lib/cn";
import { useTheme } from "@/lib/theme";

function NavItem({ to, children, end }: { to: string; children: React.ReactNode; end?: boolean }) {
  return (
    <NavLink
      to={to}
      end={end}
      className={({ isActive }) =>
        cn(
          "rounded-md px-2.5 py-1.5 text-sm font-medium text-muted-foreground hover:text-foreground hover:bg-muted",
          isActive && "text-foreground bg-muted",
        )
      }
    >
      {children}
    </NavLink>
  );
}

export function ThemeToggle() {
  const { dark, toggle } = useTheme();
  return (
    <Button variant="ghost" size="icon" onClick={toggle} aria-label={dark ? "Switch to light mode" : "Switch to dark mode"}>
      {dark ? <Sun /> : <Moon />}
    </Button>
  );
}

/** Layout is the signed-in frame: navigation, account, theme, sign out. */
export function Layout() {
  const session = useSession();
  const queryClient = useQueryClient();
  const me = useQuery(AuthService.method.verify, {});
  const logout = useMutation(AuthService.method.logout);
  const signOut = () => {
    // Logout revokes the session on the server; the token is dropped here
    // whatever it answers (an API token cannot be logged out, only revoked).
    logout.mutate(
      {},
      {
        onSettled: () => {
          // The route guard then shows the sign-in page.
          session.forget();
          queryClient.clear();
        },
      },
    );
  };
  return (
    <div className="min-h-dvh">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:px-3 focus:py-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-background/90 backdrop-blur">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-3 gap-y-1 px-4 py-2">
          <NavLink to="/" className="flex items-center gap-2 font-semibold" aria-label="CodeRunner home">
            <img src="/favicon.svg" alt="" className="size-6" />
            <span className="hidden sm:inline">CodeRunner</span>
          </NavLink>
          <nav aria-label="Main" className="flex items-center gap-1">
            <NavItem to="/" end>
              Deployments
            </NavItem>
            <NavItem to="/projects">Projects</NavItem>
            <NavItem to="/activity">Activity</NavItem>
            <NavItem to="/account">Account</NavItem>
          </nav>
          <ProjectSelector />
          <div className="ml-auto flex items-center gap-1">
            <Button asChild size="sm" className="hidden sm:inline-flex">
              <NavLink to="/new">
                <Plus /> New deployment
              </NavLink>
            </Button>
            <span className="hidden max-w-48 truncate px-2 text-sm text-muted-foreground md:inline" title={me.data?.user?.email}>
              {me.data?.user?.email}
            </span>
            <ThemeToggle />
            <Button variant="ghost" size="icon" onClick={signOut} disabled={logout.isPending} aria-label="Sign out" title="Sign out">
              <LogOut />
            </Button>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
