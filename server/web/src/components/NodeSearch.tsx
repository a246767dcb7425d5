// The double-click search box (as in ComfyUI): type, arrows, Enter.
import { useEffect, useRef, useState } from "react";
import { matchingSocket, searchNodes, type PendingLink } from "../graph/catalogue";
import { useEditor } from "../store/editor";

interface Props {
  at: { x: number; y: number };
  /** Offer only nodes this link can attach to (a link dropped on empty canvas, as in ComfyUI). */
  link?: PendingLink;
  onPick: (type: string) => void;
  onClose: () => void;
}

export function NodeSearch({ at, link, onPick, onClose }: Props) {
  const index = useEditor((s) => s.index)!;
  const [query, setQuery] = useState("");
  const [chosen, setChosen] = useState(0);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), []);
  const results = searchNodes(index, query)
    .filter((node) => !link || matchingSocket(index, node, link) !== null)
    .slice(0, 12);
  return (
    <div className="node-search" style={{ left: at.x, top: at.y }} role="dialog" aria-label="add a node">
      <input
        ref={field}
        placeholder={link ? `Search nodes ${link.side === "source" ? "taking" : "giving"} ${link.type}…` : "Search nodes…"}
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
