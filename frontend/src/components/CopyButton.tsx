import { Copy } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";

/** CopyButton copies text to the clipboard and says whether it could. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <Button variant="outline" size="sm" aria-label={label} onClick={() => void copy()}>
      <Copy /> {copied === "yes" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
    </Button>
  );
}
