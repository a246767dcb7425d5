// The node catalogue by category, with a filter; click to add at the centre, or drag onto the canvas.
import { useReactFlow } from "@xyflow/react";
import { useState } from "react";
import { searchNodes } from "../graph/catalogue";
import { useEditor } from "../store/editor";
import { NODE_DRAG_MIME } from "./Canvas";

export function NodeLibrary() {
  const index = useEditor((s) => s.index);
  const flow = useReactFlow();
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState<Record<string, boolean>>({});
  if (!index) return null;
  const add = (type: string) => {
    const box = document.querySelector(".canvas")!.getBoundingClientRect();
    useEditor.getState().addNode(type, flow.screenToFlowPosition({ x: box.left + box.width / 2 - 120, y: box.top + box.height / 3 }));
  };
  const groups: [string, typeof index.raw.nodes][] = query
    ? [["results", searchNodes(index, query)]]
    : [...index.categories];
  return (
    <aside className="node-library" aria-label="node library">
      <input className="library-filter" placeholder="Filter nodes…" value={query} onChange={(e) => setQuery(e.target.value)} />
      <div className="library-groups">
        {groups.map(([category, nodes]) => (
          <details key={category} open={!!query || open[category]} onToggle={(e) => setOpen({ ...open, [category]: (e.target as HTMLDetailsElement).open })}>
            <summary>
              {category} <em>{nodes.length}</em>
            </summary>
            {nodes.map((node) => (
              <button
                key={node.type}
                className="library-node"
                draggable
                title={node.description}
                onDragStart={(e) => e.dataTransfer.setData(NODE_DRAG_MIME, node.type)}
                onClick={() => add(node.type)}
              >
                {node.display_name}
              </button>
            ))}
          </details>
        ))}
      </div>
    </aside>
  );
}
