// The graph being edited, with undo/redo (snapshots of the whole graph; graphs are small).
import { applyEdgeChanges, applyNodeChanges, type Edge, type EdgeChange, type NodeChange } from "@xyflow/react";
import { create } from "zustand";
import type { JsonValue, ParamSpec, WorkflowDocument } from "../api/types";
import type { CatalogueIndex } from "../graph/catalogue";
import {
  documentToGraph,
  freshNodeId,
  graphToDocument,
  makeEdge,
  outputType,
  type DocumentMeta,
  type Graph,
  type GraphNode,
  type NodeData,
  type SeedMode,
} from "../graph/convert";

const HISTORY_LIMIT = 200;
const EMPTY_META: DocumentMeta = { name: "", description: "", params: {}, outputs: {}, editorExtra: {} };

interface Clipboard {
  nodes: GraphNode[];
  edges: Edge[];
}

export interface EditorState extends Graph {
  index: CatalogueIndex | null;
  past: Graph[];
  future: Graph[];
  clipboard: Clipboard | null;
  /** Bumped when a document is opened: the canvas fits it into view. */
  loads: number;
  setIndex: (index: CatalogueIndex) => void;
  load: (doc: WorkflowDocument) => void;
  toDocument: () => WorkflowDocument;
  /** Record the current graph as an undo step, then apply `change`. */
  commit: (change: (graph: Graph) => Partial<Graph>) => void;
  onNodesChange: (changes: NodeChange<GraphNode>[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  addNode: (nodeType: string, position: { x: number; y: number }) => string;
  connect: (source: string, output: string, target: string, input: string) => void;
  setValue: (nodeId: string, input: string, value: JsonValue) => void;
  setSeedMode: (nodeId: string, input: string, mode: SeedMode) => void;
  setParams: (params: Record<string, ParamSpec>) => void;
  setMeta: (meta: Partial<DocumentMeta>) => void;
  copy: () => void;
  paste: () => void;
  undo: () => void;
  redo: () => void;
}

const snapshot = (state: Graph): Graph => ({
  nodes: state.nodes,
  edges: state.edges,
  seedModes: state.seedModes,
  meta: state.meta,
});

export const useEditor = create<EditorState>((set, get) => ({
  nodes: [],
  edges: [],
  seedModes: {},
  meta: EMPTY_META,
  index: null,
  past: [],
  future: [],
  clipboard: null,
  loads: 0,

  setIndex: (index) => set({ index }),

  load: (doc) => {
    const index = get().index;
    if (!index) return;
    get().commit(() => documentToGraph(doc, index));
    set((state) => ({ loads: state.loads + 1 }));
  },

  toDocument: () => graphToDocument(snapshot(get())),

  commit: (change) =>
    set((state) => ({
      ...change(snapshot(state)),
      past: [...state.past, snapshot(state)].slice(-HISTORY_LIMIT),
      future: [],
    })),

  onNodesChange: (changes) => {
    // Removals and finished drags are undo steps; selection and drag frames are not.
    const undoable = changes.some((c) => c.type === "remove" || (c.type === "position" && c.dragging === false));
    if (undoable) {
      const removed = new Set(changes.flatMap((c) => (c.type === "remove" ? [c.id] : [])));
      get().commit((graph) => ({
        nodes: applyNodeChanges(changes, graph.nodes),
        edges: graph.edges.filter((e) => !removed.has(e.source) && !removed.has(e.target)),
      }));
    } else {
      set((state) => ({ nodes: applyNodeChanges(changes, state.nodes) }));
    }
  },

  onEdgesChange: (changes) => {
    if (changes.some((c) => c.type === "remove")) {
      get().commit((graph) => ({ edges: applyEdgeChanges(changes, graph.edges) }));
    } else {
      set((state) => ({ edges: applyEdgeChanges(changes, state.edges) }));
    }
  },

  addNode: (nodeType, position) => {
    const { index, nodes } = get();
    const schema = index?.nodes.get(nodeType);
    const id = freshNodeId(nodeType, new Set(nodes.map((n) => n.id)));
    const values: Record<string, JsonValue> = {};
    for (const input of schema?.inputs ?? []) if (input.default !== undefined) values[input.name] = input.default;
    // A new workflow node is pinned to the definition it was made from, so a later edit of that
    // definition is reported instead of silently changing what this graph does.
    const data: NodeData = schema?.workflow ? { nodeType, values, pin: schema.workflow.hash } : { nodeType, values };
    get().commit((graph) => ({
      nodes: [...graph.nodes.map((n) => ({ ...n, selected: false })), { id, type: "graph", position, selected: true, data }],
    }));
    return id;
  },

  connect: (source, output, target, input) => {
    const { index } = get();
    if (!index) return;
    get().commit((graph) => {
      const type = outputType(index, graph.nodes, source, output);
      // An input holds one link: a new one replaces the old, as in ComfyUI.
      const edges = graph.edges.filter((e) => !(e.target === target && e.targetHandle === input));
      return { edges: [...edges, makeEdge(source, output, target, input, type)] };
    });
  },

  setValue: (nodeId, input, value) =>
    get().commit((graph) => ({
      nodes: graph.nodes.map((n) =>
        n.id === nodeId ? { ...n, data: { ...n.data, values: { ...n.data.values, [input]: value } } } : n,
      ),
    })),

  setSeedMode: (nodeId, input, mode) =>
    get().commit((graph) => ({ seedModes: { ...graph.seedModes, [`${nodeId}.${input}`]: mode } })),

  setParams: (params) => get().commit((graph) => ({ meta: { ...graph.meta, params } })),

  setMeta: (meta) => get().commit((graph) => ({ meta: { ...graph.meta, ...meta } })),

  copy: () => {
    const { nodes, edges } = get();
    const chosen = nodes.filter((n) => n.selected);
    const ids = new Set(chosen.map((n) => n.id));
    if (!chosen.length) return;
    set({ clipboard: { nodes: chosen, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) } });
  },

  paste: () => {
    const { clipboard } = get();
    if (!clipboard) return;
    get().commit((graph) => {
      const taken = new Set(graph.nodes.map((n) => n.id));
      const renamed = new Map<string, string>();
      const pasted = clipboard.nodes.map((node) => {
        const id = freshNodeId(node.data.nodeType, taken);
        taken.add(id);
        renamed.set(node.id, id);
        return { ...node, id, selected: true, position: { x: node.position.x + 40, y: node.position.y + 40 } };
      });
      const edges = clipboard.edges.map((e) =>
        makeEdge(renamed.get(e.source)!, e.sourceHandle!, renamed.get(e.target)!, e.targetHandle!, String(e.data?.type)),
      );
      return {
        nodes: [...graph.nodes.map((n) => ({ ...n, selected: false })), ...pasted],
        edges: [...graph.edges, ...edges],
      };
    });
    // Pasting again offsets again.
    set((state) => ({
      clipboard: state.clipboard && {
        ...state.clipboard,
        nodes: state.clipboard.nodes.map((n) => ({ ...n, position: { x: n.position.x + 40, y: n.position.y + 40 } })),
      },
    }));
  },

  undo: () =>
    set((state) => {
      const previous = state.past.at(-1);
      if (!previous) return {};
      return { ...previous, past: state.past.slice(0, -1), future: [snapshot(state), ...state.future] };
    }),

  redo: () =>
    set((state) => {
      const next = state.future[0];
      if (!next) return {};
      return { ...next, past: [...state.past, snapshot(state)], future: state.future.slice(1) };
    }),
}));
