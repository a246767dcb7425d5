// A seed: its number plus what the editor does to it after each queued run (recorded in the workflow's editor.seed_modes).
import type { InputSchema } from "../api/types";
import type { SeedMode } from "../graph/convert";
import { NumberWidget } from "./NumberWidget";

const MODES: SeedMode[] = ["fixed", "randomize", "increment", "decrement"];

export function SeedWidget(props: {
  input: InputSchema;
  value: number;
  mode: SeedMode;
  onCommit: (value: number) => void;
  onMode: (mode: SeedMode) => void;
}) {
  const { input, mode, onMode } = props;
  return (
    <div className="seed-widget">
      <NumberWidget input={input} value={props.value} integer onCommit={props.onCommit} />
      <label className="line-widget">
        <span>control after run</span>
        <select className="nodrag" name={`${input.name}-control`} value={mode} onChange={(e) => onMode(e.target.value as SeedMode)}>
          {MODES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/** The next seed for a mode, kept within the input's range. */
export function nextSeed(value: number, mode: SeedMode, input: InputSchema): number {
  const min = input.min ?? 0;
  // Random seeds stay within JavaScript's exact integers (and the input's range).
  const max = Math.min(input.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  switch (mode) {
    case "randomize":
      return min + Math.floor(Math.random() * Math.min(max - min + 1, 2 ** 48));
    case "increment":
      return value + 1 > max ? min : value + 1;
    case "decrement":
      return value - 1 < min ? max : value - 1;
    default:
      return value;
  }
}
