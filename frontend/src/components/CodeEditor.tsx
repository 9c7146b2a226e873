import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { yaml } from "@codemirror/lang-yaml";
import { EditorState, type Extension } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { basicSetup } from "codemirror";
import { useEffect, useEffectEvent, useRef } from "react";
import { useIsDark } from "@/lib/theme";

function languageFor(path: string): Extension[] {
  const p = path.toLowerCase();
  if (/\.(m|c)?jsx?$/.test(p)) return [javascript({ jsx: p.endsWith("x") })];
  if (/\.(m|c)?tsx?$/.test(p)) return [javascript({ typescript: true, jsx: p.endsWith("x") })];
  if (p.endsWith(".json")) return [json()];
  if (p.endsWith(".yaml") || p.endsWith(".yml")) return [yaml()];
  return [];
}

const baseTheme = EditorView.theme({
  "&": { fontSize: "13px", height: "100%" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
});

interface Props {
  path: string;
  value: string;
  onChange: (value: string) => void;
  label: string;
}

/**
 * CodeEditor is CodeMirror 6 for one file. The editor is rebuilt when the
 * file or theme changes; typing only reports the new text upward. Tab
 * indents; Escape then Tab moves focus on (CodeMirror's accessible default).
 */
export function CodeEditor({ path, value, onChange, label }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const dark = useIsDark();
  // Effect events: the editor reads the latest value and onChange without
  // being rebuilt when they change (the editor owns the text once built).
  const currentValue = useEffectEvent(() => value);
  const reportChange = useEffectEvent((text: string) => onChange(text));

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: currentValue(),
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          baseTheme,
          ...(dark ? [oneDark] : []),
          ...languageFor(path),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) reportChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [path, dark, label]);

  // A value changed from outside (e.g. a starter replaced the file) is applied.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div ref={host} className="h-full min-h-64 overflow-hidden" data-testid="code-editor" />;
}
