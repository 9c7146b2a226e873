// React access to the session: the token (reactive), sign in and sign out.

import { createContext, useCallback, useContext, useMemo, useSyncExternalStore } from "react";
import type * as React from "react";
import type { TokenStore } from "./session";

const TokenStoreContext = createContext<TokenStore | null>(null);

export function TokenStoreProvider({ store, children }: { store: TokenStore; children: React.ReactNode }) {
  return <TokenStoreContext.Provider value={store}>{children}</TokenStoreContext.Provider>;
}

function useTokenStore(): TokenStore {
  const store = useContext(TokenStoreContext);
  if (!store) throw new Error("useSession needs a TokenStoreProvider");
  return store;
}

export interface Session {
  token: string | null;
  signIn(token: string): void;
  /** forget drops the token locally after Logout. */
  forget(): void;
  /** signedOut: the token was dropped by signing out (not rejected by the server). */
  signedOut: boolean;
}

export function useSession(): Session {
  const store = useTokenStore();
  const token = useSyncExternalStore(store.subscribe, store.get, store.get);
  const signIn = useCallback((t: string) => store.set(t), [store]);
  const forget = useCallback(() => store.clear("signout"), [store]);
  const signedOut = !token && store.lastClearReason() === "signout";
  return useMemo(() => ({ token, signIn, forget, signedOut }), [token, signIn, forget, signedOut]);
}
