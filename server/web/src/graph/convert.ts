// Workflow documents <-> the editor's nodes and edges. Everything the editor does not show
// (params, outputs, unknown editor keys, inputs of unknown node types) is carried through unchanged.
import type { Edge, Node } from "@xyflow/react";
import type { InputSchema, JsonValue, Link, ParamSpec, WorkflowDocument } from "../api/types";
import { isSeedInput, type CatalogueIndex } from "./catalogue";
import { typeColor } from "./typeColors";

export interface NodeData extends Record<string, unknown> {
  nodeType: string;
  values: Record<string, JsonValue>;
  pin?: string; // workflow nodes: the definition hash they were made for (kept, and set on new ones)
}

export type GraphNode = Node<NodeData, "graph">;

export type SeedMode = "fixed" | "randomize" | "increment" | "decrement";

export interface DocumentMeta {
  name: string;
  description: string;
  params: Record<string, ParamSpec>;
  outputs: Record<string, Link>;
  editorExtra: Record<string, JsonValue>;
}

export interface Graph {
  nodes: GraphNode[];
  edges: Edge[];
  seedModes: Record<string, SeedMode>;
  meta: DocumentMeta;
}

const isLink = (value: unknown): value is Link =>
  typeof value === "object" && value !== null && !Array.isArray(value) && "from" in value;

export function outputType(index: CatalogueIndex, nodes: GraphNode[], nodeId: string, output: string): string {
  const node = nodes.find((candidate) => candidate.id === nodeId);
  const schema = node ? index.nodes.get(node.data.nodeType) : undefined;
  return schema?.outputs.find((o) => o.name === output)?.type ?? "ANY";
}

export function makeEdge(source: string, output: string, target: string, input: string, type: string): Edge {
  return {
    id: `${source}:${output}->${target}:${input}`,
    source,
    sourceHandle: output,
    target,
    targetHandle: input,
    data: { type },
    style: { stroke: typeColor(type), strokeWidth: 2.5 },
  };
}

/** Long-form params: `"a.b"` and `["a.b", ...]` become `{targets: [...]}`. */
export function normaliseParams(params: WorkflowDocument["params"]): Record<string, ParamSpec> {
  const result: Record<string, ParamSpec> = {};
  for (const [name, spec] of Object.entries(params ?? {})) {
    if (typeof spec === "string") result[name] = { targets: [spec] };
    else if (Array.isArray(spec)) result[name] = { targets: [...spec] };
    else result[name] = { ...spec, targets: [...spec.targets] };
  }
  return result;
}

/** A node card's height in flow units, roughly (rows of sockets and widgets; prompts are taller). */
function estimatedHeight(index: CatalogueIndex, nodeType: string): number {
  const schema = index.nodes.get(nodeType);
  if (!schema) return 120;
  const rowsOf = (input: InputSchema) => (input.multiline ? 3 : isSeedInput(index, input) ? 2 : 1);
  const rows = schema.outputs.length + schema.inputs.reduce((sum, input) => sum + rowsOf(input), 0);
  return 40 + rows * 24;
}

/** Columns by depth (producers left), stacked without overlap, for nodes the document gives no position. */
function autoLayout(doc: WorkflowDocument, index: CatalogueIndex): Record<string, [number, number]> {
  const depth: Record<string, number> = {};
  const ids = Object.keys(doc.nodes);
  const depthOf = (id: string, seen: Set<string>): number => {
    if (depth[id] !== undefined) return depth[id];
    if (seen.has(id)) return 0;
    seen.add(id);
    const producers = Object.values(doc.nodes[id]?.inputs ?? {}).filter(isLink).map((link) => link.from);
    const value = producers.length ? 1 + Math.max(...producers.filter((p) => p in doc.nodes).map((p) => depthOf(p, seen)), -1) : 0;
    depth[id] = value;
    return value;
  };
  const nextY: Record<number, number> = {};
  const positions: Record<string, [number, number]> = {};
  for (const id of ids.sort()) {
    const column = depthOf(id, new Set());
    const y = nextY[column] ?? 0;
    positions[id] = [column * 320, y];
    nextY[column] = y + estimatedHeight(index, doc.nodes[id].type) + 40;
  }
  return positions;
}

export function documentToGraph(doc: WorkflowDocument, index: CatalogueIndex): Graph {
  const { positions: storedPositions, seed_modes: storedSeedModes, ...editorExtra } = (doc.editor ?? {}) as Record<
    string,
    JsonValue
  >;
  const positions = { ...autoLayout(doc, index), ...((storedPositions ?? {}) as Record<string, [number, number]>) };
  const nodes: GraphNode[] = [];
  const edges: Edge[] = [];
  for (const [id, entry] of Object.entries(doc.nodes)) {
    const values: Record<string, JsonValue> = {};
    for (const [input, value] of Object.entries(entry.inputs ?? {})) {
      if (!isLink(value)) values[input] = value as JsonValue;
    }
    const [x, y] = positions[id] ?? [0, 0];
    const data: NodeData = { nodeType: entry.type, values };
    if (entry.pin !== undefined) data.pin = entry.pin;
    nodes.push({ id, type: "graph", position: { x, y }, data });
  }
  for (const [id, entry] of Object.entries(doc.nodes)) {
    for (const [input, value] of Object.entries(entry.inputs ?? {})) {
      if (isLink(value)) edges.push(makeEdge(value.from, value.output, id, input, outputType(index, nodes, value.from, value.output)));
    }
  }
  return {
    nodes,
    edges,
    seedModes: (storedSeedModes ?? {}) as Record<string, SeedMode>,
    meta: {
      name: doc.name ?? "",
      description: doc.description ?? "",
      params: normaliseParams(doc.params),
      outputs: { ...(doc.outputs ?? {}) },
      editorExtra,
    },
  };
}

export function graphToDocument(graph: Graph): WorkflowDocument {
  const ids = new Set(graph.nodes.map((node) => node.id));
  const nodes: WorkflowDocument["nodes"] = {};
  const positions: Record<string, JsonValue> = {};
  for (const node of graph.nodes) {
    nodes[node.id] = { type: node.data.nodeType, inputs: { ...node.data.values } };
    if (node.data.pin !== undefined) nodes[node.id].pin = node.data.pin;
    positions[node.id] = [Math.round(node.position.x), Math.round(node.position.y)];
  }
  for (const edge of graph.edges) {
    const inputs = nodes[edge.target]?.inputs;
    if (inputs && edge.sourceHandle && edge.targetHandle) {
      inputs[edge.targetHandle] = { from: edge.source, output: edge.sourceHandle };
    }
  }
  // Params and outputs that name deleted nodes would make the document invalid: drop them.
  const params: Record<string, ParamSpec> = {};
  for (const [name, spec] of Object.entries(graph.meta.params)) {
    const targets = spec.targets.filter((target) => ids.has(target.split(".")[0]));
    if (targets.length) params[name] = { ...spec, targets };
  }
  const outputs = Object.fromEntries(Object.entries(graph.meta.outputs).filter(([, link]) => ids.has(link.from)));
  const seedModes = Object.fromEntries(
    Object.entries(graph.seedModes).filter(([target, mode]) => ids.has(target.split(".")[0]) && mode !== "fixed"),
  );
  const editor: Record<string, JsonValue> = { ...graph.meta.editorExtra, positions };
  if (Object.keys(seedModes).length) editor.seed_modes = seedModes;
  const doc: WorkflowDocument = { schema_version: 1, name: graph.meta.name, nodes, editor };
  if (graph.meta.description) doc.description = graph.meta.description;
  if (Object.keys(params).length) doc.params = params as WorkflowDocument["params"];
  if (Object.keys(outputs).length) doc.outputs = outputs;
  return doc;
}

/** A node id from its type: "KSampler" -> "ksampler", then "ksampler_2"... */
export function freshNodeId(nodeType: string, taken: Set<string>): string {
  const base = nodeType.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^[-]+/, "").toLowerCase() || "node";
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}
