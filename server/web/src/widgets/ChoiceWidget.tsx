// Choices (enums and Literal inputs) and booleans.
import type { InputSchema } from "../api/types";

export function ChoiceWidget({ input, value, onCommit }: { input: InputSchema; value: string; onCommit: (v: string) => void }) {
  const choices = input.choices ?? [];
  return (
    <label className="line-widget">
      <span>{input.name}</span>
      <select className="nodrag" name={input.name} value={value} onChange={(event) => onCommit(event.target.value)}>
        {!choices.includes(value) && <option value={value}>{`${value} (not a choice)`}</option>}
        {choices.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    </label>
  );
}

export function BooleanWidget({ input, value, onCommit }: { input: InputSchema; value: boolean; onCommit: (v: boolean) => void }) {
  return (
    <label className="line-widget toggle">
      <span>{input.name}</span>
      <input className="nodrag" type="checkbox" name={input.name} checked={value} onChange={(event) => onCommit(event.target.checked)} />
      <em>{value ? "true" : "false"}</em>
    </label>
  );
}
