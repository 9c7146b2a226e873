// The signed-in session: the bearer token kept in localStorage (so a reload
// stays signed in) and the one transport every call goes through, which
// adds `Authorization: Bearer <token>`.

import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

export const TOKEN_KEY = "coderunner.token";

/** Why the token was last dropped: the user signed out, or the server rejected it. */
export type ClearReason = "signout" | "rejected";

/** TokenStore holds the bearer token and tells subscribers when it changes. */
export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(reason?: ClearReason): void;
  lastClearReason(): ClearReason | null;
  subscribe(listener: () => void): () => void;
}

/** createTokenStore keeps the token in storage (localStorage in the app). */
export function createTokenStore(storage: Storage | null): TokenStore {
  const listeners = new Set<() => void>();
  let memory: string | null = null;
  const read = () => {
    try {
      return storage ? storage.getItem(TOKEN_KEY) : memory;
    } catch {
      return memory;
    }
  };
  let current = read();
  let reason: ClearReason | null = null;
  const emit = () => {
    for (const l of listeners) l();
  };
  const write = (token: string | null) => {
    memory = token;
    current = token;
    try {
      if (storage) {
        if (token === null) storage.removeItem(TOKEN_KEY);
        else storage.setItem(TOKEN_KEY, token);
      }
    } catch {
      // Storage can be unavailable (private mode); the token then lives in memory.
    }
    emit();
  };
  if (typeof window !== "undefined" && storage) {
    // Signing in or out in another tab applies here too.
    window.addEventListener("storage", (e) => {
      if (e.key === TOKEN_KEY) {
        current = read();
        emit();
      }
    });
  }
  return {
    get: () => current,
    set: (token) => {
      reason = null;
      write(token);
    },
    clear: (why = "rejected") => {
      reason = why;
      write(null);
    },
    lastClearReason: () => reason,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * authInterceptor adds the bearer token to every call, unary and streaming.
 * When the server rejects the token it is forgotten, which sends the user
 * to the sign-in page.
 */
export function authInterceptor(store: TokenStore): Interceptor {
  return (next) => async (req) => {
    const token = store.get();
    if (token) req.header.set("Authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (token && err instanceof ConnectError && err.code === Code.Unauthenticated && store.get() === token) {
        store.clear();
      }
      throw err;
    }
  };
}

/** createAppTransport is the dashboard's one transport to the server at baseUrl. */
export function createAppTransport(baseUrl: string, store: TokenStore): Transport {
  return createConnectTransport({
    baseUrl,
    useBinaryFormat: true,
    interceptors: [authInterceptor(store)],
  });
}
