// A form's editable copy of a value that can also change on the server.

import { type Dispatch, type SetStateAction, useState } from "react";

/**
 * useDraft holds a form's draft of server, a value that another tab, the
 * CLI or a watch event can change while the form is open. When server
 * changes, the draft takes the new value unless it holds edits: unless it
 * differs both from the value it was based on and from the new one (a save
 * from this form comes back as a new value equal to the draft, which the
 * draft then takes as the server shows it). same compares two values.
 */
export function useDraft<T>(server: T, same: (a: T, b: T) => boolean): [T, Dispatch<SetStateAction<T>>] {
  const [draft, setDraft] = useState(server);
  // The server value the draft was last based on. Compared while rendering,
  // not in an effect, so a change shows in the same render that brings it.
  const [base, setBase] = useState(server);
  if (!same(base, server)) {
    setBase(server);
    if (same(draft, base) || same(draft, server)) setDraft(server);
  }
  return [draft, setDraft];
}
