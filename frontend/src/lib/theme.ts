import { useCallback, useSyncExternalStore } from "react";

const THEME_KEY = "coderunner.theme";

function isDark(): boolean {
  return typeof document !== "undefined" && document.documentElement.classList.contains("dark");
}

function subscribe(onChange: () => void): () => void {
  const obs = new MutationObserver(onChange);
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  return () => obs.disconnect();
}

/** useIsDark follows the dark class on <html>. */
export function useIsDark(): boolean {
  return useSyncExternalStore(subscribe, isDark, () => false);
}

/** useTheme reads and toggles dark mode (a class on <html>, kept in localStorage). */
export function useTheme(): { dark: boolean; toggle: () => void } {
  const dark = useIsDark();
  const toggle = useCallback(() => {
    const next = !isDark();
    document.documentElement.classList.toggle("dark", next);
    try {
      localStorage.setItem(THEME_KEY, next ? "dark" : "light");
    } catch {
      // not persisted; the toggle still applies to this page
    }
  }, []);
  return { dark, toggle };
}
