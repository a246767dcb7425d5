// The node canvas: connecting with the type rule (and a reason when refused), keyboard shortcuts,
// double-click search, and dropping nodes from the library or workflow files from the desktop.
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
} from "@xyflow/react";
import { useCallback, useEffect, useState } from "react";
import { matchingSocket, type PendingLink } from "../graph/catalogue";
import { linkRefusal } from "../graph/links";
import { outputType } from "../graph/convert";
import { typeColor } from "../graph/typeColors";
import { importFile } from "../importing";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";
import { NodeCard } from "./NodeCard";
import { NodeSearch } from "./NodeSearch";

const NODE_TYPES = { graph: NodeCard };
export const NODE_DRAG_MIME = "application/x-graph-engine-node";

function refusalFor(connection: Connection | Edge): string | null {
  const { index, nodes, edges } = useEditor.getState();
  const { source, target, sourceHandle, targetHandle } = connection;
  if (!index || !sourceHandle || !targetHandle) return "incomplete link";
  const targetNode = nodes.find((n) => n.id === target);
  const input = index.nodes.get(targetNode?.data.nodeType ?? "")?.inputs.find((i) => i.name === targetHandle);
  if (!targetNode || !input) return `node '${target}' has no input '${targetHandle}'`;
  // The link it would replace does not count for the cycle check.
  const others = edges.filter((e) => !(e.target === target && e.targetHandle === targetHandle));
  return linkRefusal(
    index,
    {
      source,
      sourceOutput: sourceHandle,
      sourceType: outputType(index, nodes, source, sourceHandle),
      target,
      targetInput: targetHandle,
      targetType: input.type,
      targetNodeType: targetNode.data.nodeType,
    },
    others,
  );
}

function isEditable(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (element.tagName === "INPUT" || element.tagName === "TEXTAREA" || element.tagName === "SELECT" || element.isContentEditable);
}

export function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  const onEdgesChange = useEditor((s) => s.onEdgesChange);
  const toast = useRuns((s) => s.toast);
  const flow = useReactFlow();
  const [search, setSearch] = useState<{ x: number; y: number; screenX: number; screenY: number; link?: PendingLink } | null>(null);
  const loads = useEditor((s) => s.loads);
  const measured = useNodesInitialized();
  const [fitted, setFitted] = useState(-1);

  // Fit each opened workflow once its nodes have been measured (their real sizes), not before.
  useEffect(() => {
    if (!measured || fitted === loads) return;
    setFitted(loads);
    void flow.fitView({ padding: 0.08, maxZoom: 1.2 });
  }, [measured, loads, fitted, flow]);

  const isValidConnection: IsValidConnection = useCallback((c) => refusalFor(c) === null, []);

  const onConnect = useCallback(
    (c: Connection) => {
      const refusal = refusalFor(c);
      if (refusal) toast("error", `link refused: ${refusal}`);
      else useEditor.getState().connect(c.source, c.sourceHandle!, c.target, c.targetHandle!);
    },
    [toast],
  );

  // Dropping a link on an incompatible socket: say why instead of silently doing nothing. Dropping it on
  // empty canvas: search the nodes it fits, as in ComfyUI.
  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.fromHandle) return;
      if (!state.toHandle) {
        const { index, nodes } = useEditor.getState();
        const from = state.fromHandle;
        const schema = index?.nodes.get(nodes.find((n) => n.id === from.nodeId)?.data.nodeType ?? "");
        const sockets = from.type === "source" ? schema?.outputs : schema?.inputs;
        const type = sockets?.find((socket) => socket.name === from.id)?.type;
        const point = "changedTouches" in event ? event.changedTouches[0] : event;
        if (!type || !from.id || !(event.target as Element).classList.contains("react-flow__pane")) return;
        setSearch({
          ...flow.screenToFlowPosition({ x: point.clientX, y: point.clientY }),
          screenX: point.clientX,
          screenY: point.clientY,
          link: { nodeId: from.nodeId, handle: from.id, side: from.type, type },
        });
        return;
      }
      const [from, to] = state.fromHandle.type === "source" ? [state.fromHandle, state.toHandle] : [state.toHandle, state.fromHandle];
      const refusal = refusalFor({ source: from.nodeId, sourceHandle: from.id ?? null, target: to.nodeId, targetHandle: to.id ?? null });
      if (refusal) toast("error", `link refused: ${refusal}`);
    },
    [toast, flow],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isEditable(event.target)) return;
      const mod = event.ctrlKey || event.metaKey;
      const editor = useEditor.getState();
      if (mod && event.key.toLowerCase() === "z" && !event.shiftKey) editor.undo();
      else if (mod && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) editor.redo();
      else if (mod && event.key.toLowerCase() === "c") editor.copy();
      else if (mod && event.key.toLowerCase() === "v") editor.paste();
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const onDrop = (event: React.DragEvent) => {
    event.preventDefault();
    const nodeType = event.dataTransfer.getData(NODE_DRAG_MIME);
    if (nodeType) {
      useEditor.getState().addNode(nodeType, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
      return;
    }
    const file = event.dataTransfer.files[0];
    if (file) void importFile(file);
  };

  return (
    <div className="canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onDoubleClick={(event) => {
          if (!(event.target as HTMLElement).classList.contains("react-flow__pane")) return;
          const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
          setSearch({ ...position, screenX: event.clientX, screenY: event.clientY });
        }}
        zoomOnDoubleClick={false}
        deleteKeyCode={["Delete", "Backspace"]}
        multiSelectionKeyCode={["Control", "Meta", "Shift"]}
        minZoom={0.1}
        maxZoom={3}
        colorMode="dark"
        proOptions={{ hideAttribution: true }}
      >
        <Background variant={BackgroundVariant.Dots} gap={24} size={1.5} color="#3a3a3a" />
        <Controls />
        <MiniMap pannable zoomable nodeColor={(n) => typeColor(String(n.data?.nodeType ?? ""))} />
      </ReactFlow>
      {search && (
        <NodeSearch
          at={{ x: search.screenX, y: search.screenY }}
          link={search.link}
          onPick={(nodeType) => {
            const editor = useEditor.getState();
            const link = search.link;
            // A node picked for a dangling link goes left of an input it feeds, right of an output it takes.
            const x = link?.side === "target" ? search.x - 300 : search.x;
            const added = editor.addNode(nodeType, { x, y: search.y });
            const schema = editor.index?.nodes.get(nodeType);
            const socket = link && schema ? matchingSocket(editor.index!, schema, link) : null;
            if (link && socket) {
              if (link.side === "source") editor.connect(link.nodeId, link.handle, added, socket);
              else editor.connect(added, socket, link.nodeId, link.handle);
            }
            setSearch(null);
          }}
          onClose={() => setSearch(null)}
        />
      )}
    </div>
  );
}
