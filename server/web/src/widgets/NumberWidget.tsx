// Numbers with their range and step; the value is committed on Enter/blur (one undo step), clamped to the range.
import { useEffect, useState } from "react";
import type { InputSchema } from "../api/types";

interface Props {
  input: InputSchema;
  value: number;
  integer: boolean;
  onCommit: (value: number) => void;
}

export function outOfRange(input: InputSchema, value: number): string | null {
  if (input.min !== undefined && input.min !== null && value < input.min) return `at least ${input.min}`;
  if (input.max !== undefined && input.max !== null && value > input.max) return `at most ${input.max}`;
  return null;
}

export function NumberWidget({ input, value, integer, onCommit }: Props) {
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const step = input.step ?? (integer ? 1 : 0.01);
  const parsed = Number(text);
  const problem = text.trim() === "" || Number.isNaN(parsed) ? "a number" : integer && !Number.isInteger(parsed) ? "a whole number" : outOfRange(input, parsed);
  const commit = (next: number) => {
    const clamped = Math.min(input.max ?? Infinity, Math.max(input.min ?? -Infinity, next));
    const rounded = integer ? Math.round(clamped) : Number(clamped.toFixed(6));
    setText(String(rounded));
    if (rounded !== value) onCommit(rounded);
  };
  const decimals = integer ? 0 : Math.max(0, (String(step).split(".")[1] ?? "").length);
  return (
    <div className={`number-widget${problem ? " invalid" : ""}`} title={problem ? `expected ${problem}` : input.description}>
      <button className="nodrag" aria-label={`decrease ${input.name}`} onClick={() => commit(Number((value - step).toFixed(decimals)))}>
        ◀
      </button>
      <label>
        <span>{input.name}</span>
        <input
          className="nodrag"
          name={input.name}
          inputMode={integer ? "numeric" : "decimal"}
          value={text}
          onChange={(event) => setText(event.target.value)}
          onBlur={() => (problem === null ? commit(parsed) : setText(String(value)))}
          onKeyDown={(event) => event.key === "Enter" && (event.target as HTMLInputElement).blur()}
        />
      </label>
      <button className="nodrag" aria-label={`increase ${input.name}`} onClick={() => commit(Number((value + step).toFixed(decimals)))}>
        ▶
      </button>
    </div>
  );
}
