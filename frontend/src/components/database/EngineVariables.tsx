import { Fragment } from "react";
import { ENGINES, type Engine } from "./engines";

/** EngineVariables names an engine's variables as code: "A, B and C". */
export function EngineVariables({ engine }: { engine: Engine }) {
  const { urlVariable, otherVariables } = ENGINES[engine];
  const names = [urlVariable, ...otherVariables];
  return (
    <>
      {names.map((n, i) => (
        <Fragment key={n}>
          {i === 0 ? "" : i === names.length - 1 ? " and " : ", "}
          <code>{n}</code>
        </Fragment>
      ))}
    </>
  );
}
