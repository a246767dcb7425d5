// The link rule, from the catalogue's `accepts` lists, with a reason for every refusal.
import type { Edge } from "@xyflow/react";
import type { CatalogueIndex } from "./catalogue";

export interface LinkEnds {
  source: string;
  sourceType: string;
  sourceOutput: string;
  target: string;
  targetType: string;
  targetInput: string;
  targetNodeType: string;
}

function reaches(edges: Edge[], from: string, to: string): boolean {
  const downstream = new Map<string, string[]>();
  for (const edge of edges) downstream.set(edge.source, [...(downstream.get(edge.source) ?? []), edge.target]);
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const node = stack.pop()!;
    if (node === to) return true;
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...(downstream.get(node) ?? []));
  }
  return false;
}

/** Why this link may not be made, or null when it may. */
export function linkRefusal(index: CatalogueIndex, ends: LinkEnds, edges: Edge[]): string | null {
  const where = `${ends.targetNodeType} '${ends.target}' input '${ends.targetInput}'`;
  if (ends.source === ends.target) return `${where}: a node cannot take its own output`;
  const accepted = index.types.get(ends.targetType)?.accepts ?? [ends.targetType];
  if (!accepted.includes(ends.sourceType)) {
    const others = accepted.filter((type) => type !== ends.targetType);
    const listed = others.length > 6 ? `${others.slice(0, 6).join(", ")}...` : others.join(", ");
    const also = others.length ? ` (or ${listed})` : "";
    return `${where} expects ${ends.targetType}${also}; output '${ends.sourceOutput}' gives ${ends.sourceType}`;
  }
  if (reaches(edges, ends.target, ends.source)) return `${where}: this link would make a cycle`;
  return null;
}
