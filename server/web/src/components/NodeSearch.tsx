// The double-click search box (as in ComfyUI): type, arrows, Enter.
import { useEffect, useRef, useState } from "react";
import { searchNodes } from "../graph/catalogue";
import { useEditor } from "../store/editor";

export function NodeSearch({ at, onPick, onClose }: { at: { x: number; y: number }; onPick: (type: string) => void; onClose: () => void }) {
  const index = useEditor((s) => s.index)!;
  const [query, setQuery] = useState("");
  const [chosen, setChosen] = useState(0);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), []);
  const results = searchNodes(index, query).slice(0, 12);
  return (
    <div className="node-search" style={{ left: at.x, top: at.y }} role="dialog" aria-label="add a node">
      <input
        ref={field}
        placeholder="Search nodes…"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setChosen(0);
        }}
        onBlur={() => window.setTimeout(onClose, 150)}
        onKeyDown={(e) => {
          if (e.key === "Escape") onClose();
          if (e.key === "ArrowDown") setChosen((c) => Math.min(c + 1, results.length - 1));
          if (e.key === "ArrowUp") setChosen((c) => Math.max(c - 1, 0));
          if (e.key === "Enter" && results[chosen]) onPick(results[chosen].type);
        }}
      />
      <ul>
        {results.map((node, n) => (
          <li key={node.type} className={n === chosen ? "chosen" : ""} onMouseDown={() => onPick(node.type)} title={node.description}>
            <span>{node.display_name}</span>
            <em>{node.category}</em>
          </li>
        ))}
        {!results.length && <li className="empty">no node matches “{query}”</li>}
      </ul>
    </div>
  );
}
