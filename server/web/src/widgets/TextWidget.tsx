// Strings: a multiline prompt box or a one-line field; committed on blur (one undo step per edit).
import { useEffect, useState } from "react";
import type { InputSchema } from "../api/types";

interface Props {
  input: InputSchema;
  value: string;
  onCommit: (value: string) => void;
}

export function TextWidget({ input, value, onCommit }: Props) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const commit = () => text !== value && onCommit(text);
  if (input.multiline) {
    return (
      <textarea
        className="nodrag nowheel text-widget"
        name={input.name}
        placeholder={input.placeholder ? `${input.name}, e.g. ${input.placeholder}` : input.name}
        value={text}
        rows={4}
        onChange={(event) => setText(event.target.value)}
        onBlur={commit}
      />
    );
  }
  return (
    <label className="line-widget">
      <span>{input.name}</span>
      <input
        className="nodrag"
        name={input.name}
        value={text}
        placeholder={input.placeholder}
        onChange={(event) => setText(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => event.key === "Enter" && (event.target as HTMLInputElement).blur()}
      />
    </label>
  );
}
