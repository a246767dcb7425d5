// Lookups over the server's node catalogue: the editor's only source of knowledge about nodes and types.
import type { Catalogue, InputSchema, NodeSchema, TypeInfo } from "../api/types";

export interface CatalogueIndex {
  raw: Catalogue;
  nodes: Map<string, NodeSchema>;
  types: Map<string, TypeInfo>;
  categories: Map<string, NodeSchema[]>;
}

export function indexCatalogue(raw: Catalogue): CatalogueIndex {
  const nodes = new Map(raw.nodes.map((node) => [node.type, node]));
  const types = new Map(raw.types.map((type) => [type.name, type]));
  const categories = new Map<string, NodeSchema[]>();
  for (const node of [...raw.nodes].sort((a, b) => a.display_name.localeCompare(b.display_name))) {
    const category = node.category || "other";
    categories.set(category, [...(categories.get(category) ?? []), node]);
  }
  return { raw, nodes, types, categories: new Map([...categories].sort(([a], [b]) => a.localeCompare(b))) };
}

const CONSTANT_KINDS = new Set(["boolean", "int", "float", "string", "enum"]);

/** Inputs that can hold a constant get a widget; opaque ones (MODEL, LATENT...) only take links. */
export function takesConstant(index: CatalogueIndex, input: InputSchema): boolean {
  return input.choices !== undefined || CONSTANT_KINDS.has(index.types.get(input.type)?.kind ?? "opaque");
}

export function kindOf(index: CatalogueIndex, input: InputSchema): string {
  if (input.choices !== undefined) return "enum";
  return index.types.get(input.type)?.kind ?? "opaque";
}

/** Seeds get the randomize / fixed / increment control, as in ComfyUI: any integer input named like a seed. */
export function isSeedInput(index: CatalogueIndex, input: InputSchema): boolean {
  return kindOf(index, input) === "int" && /(^|_)seed$/.test(input.name);
}

/** A link dropped on empty canvas: from an output of `type` (side "source"), or into an input of `type`. */
export interface PendingLink {
  nodeId: string;
  handle: string;
  side: "source" | "target";
  type: string;
}

/** The socket of `node` a pending link would attach to: its first input accepting, or output fitting, the type. */
export function matchingSocket(index: CatalogueIndex, node: NodeSchema, link: PendingLink): string | null {
  if (link.side === "source") {
    return node.inputs.find((input) => index.types.get(input.type)?.accepts.includes(link.type))?.name ?? null;
  }
  const accepted = index.types.get(link.type)?.accepts ?? [link.type];
  return node.outputs.find((output) => accepted.includes(output.type))?.name ?? null;
}

/** Case-insensitive match of every word of the query against name, display name, category and description. */
export function searchNodes(index: CatalogueIndex, query: string): NodeSchema[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const scored: [number, NodeSchema][] = [];
  for (const node of index.raw.nodes) {
    const name = `${node.display_name} ${node.type}`.toLowerCase();
    const haystack = `${name} ${node.category} ${node.description}`.toLowerCase();
    if (!words.every((word) => haystack.includes(word))) continue;
    const score = words.reduce((sum, word) => sum + (name.startsWith(word) ? 3 : name.includes(word) ? 2 : 1), 0);
    scored.push([score, node]);
  }
  return scored.sort((a, b) => b[0] - a[0] || a[1].display_name.localeCompare(b[1].display_name)).map(([, n]) => n);
}
