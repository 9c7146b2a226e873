import { Download, Trash2 } from "lucide-react";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { ENGINES, type Engine } from "./engines";

/** DeleteDatabaseButton asks before deleting, and offers an export first. */
export function DeleteDatabaseButton({
  engine,
  name,
  disabled,
  exporting,
  onExport,
  onDelete,
}: {
  engine: Engine;
  name: string;
  disabled: boolean;
  exporting: boolean;
  onExport: () => void;
  onDelete: () => void;
}) {
  const facts = ENGINES[engine];
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button variant="destructive" size="sm" disabled={disabled}>
          <Trash2 /> Delete
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogTitle>Delete the {facts.label} database?</AlertDialogTitle>
        <AlertDialogDescription>
          <code className="break-all">{name}</code>: {facts.deleteExplained} Export it first to keep a copy.
        </AlertDialogDescription>
        <AlertDialogFooter className="sm:flex-wrap">
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <Button variant="outline" onClick={onExport} disabled={exporting}>
            <Download /> {exporting ? "Exporting…" : "Export first"}
          </Button>
          <AlertDialogAction destructive onClick={onDelete}>
            Delete database
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
