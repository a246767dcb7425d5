// Thin types for the server's JSON (see /openapi.json, server/PROTOCOL.md and graph_engine's catalogue).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface TypeInfo {
  name: string;
  kind: "any" | "boolean" | "int" | "float" | "string" | "enum" | "opaque" | string;
  description: string;
  accepts: string[];
  choices?: string[];
}

export interface InputSchema {
  name: string;
  type: string;
  required: boolean;
  optional: boolean;
  description: string;
  default?: JsonValue;
  min?: number;
  max?: number;
  step?: number | null;
  choices?: string[];
  multiline?: boolean;
  placeholder?: string;
  file?: string;
}

export interface OutputSchema {
  name: string;
  type: string;
  description: string;
}

export interface NodeSchema {
  type: string;
  display_name: string;
  category: string;
  description: string;
  version: number;
  output_node: boolean;
  cacheable: boolean;
  inputs: InputSchema[];
  outputs: OutputSchema[];
  /** Library workflows listed as node types: where the definition comes from and its content hash. */
  workflow?: { reference: string; source: string; hash: string };
}

export interface Catalogue {
  types: TypeInfo[];
  nodes: NodeSchema[];
  packs: { name: string; description: string; builtin: boolean }[];
  problems: unknown[];
}

export interface Link {
  from: string;
  output: string;
}

export interface NodeEntry {
  type: string;
  inputs?: Record<string, JsonValue | Link>;
  /** Workflow nodes: the definition's content hash this node was made for. */
  pin?: string;
}

export interface ParamSpec {
  targets: string[];
  default?: JsonValue;
  description?: string;
}

export interface WorkflowDocument {
  schema_version: number;
  name?: string;
  description?: string;
  nodes: Record<string, NodeEntry>;
  params?: Record<string, string | string[] | ParamSpec>;
  outputs?: Record<string, Link>;
  editor?: Record<string, JsonValue> | null;
}

export interface ValidationIssue {
  code: string;
  message: string;
  node_id: string | null;
  input: string | null;
  location?: string | null;
  expected?: string | null;
  got?: string | null;
  suggestion?: string | null;
}

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

export interface RunOutput {
  kind: "value" | "images" | "summary";
  value?: JsonValue;
  files?: string[];
  summary?: string;
}

export interface Run {
  id: string;
  number: number;
  status: RunStatus;
  priority: number;
  client_id: string | null;
  workflow_name: string | null;
  workflow: WorkflowDocument;
  params: Record<string, JsonValue>;
  device: string | null;
  submitted_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  outputs: Record<string, RunOutput>;
  files: string[];
}

export interface QueueState {
  paused: boolean;
  running: Run[];
  queued: Run[];
}

export interface HistoryPage {
  total: number;
  offset: number;
  limit: number;
  runs: Run[];
}

export interface SavedWorkflowInfo {
  name: string;
  description: string;
  updated_at: number;
  sha256: string;
}

/** A workflow usable by name: saved on this server ("saved") or from an installed pack (its name). */
export interface LibraryWorkflowInfo {
  name: string;
  source: string;
  description: string;
  hash: string | null;
  problem: string | null;
}

export interface UploadResponse {
  path: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}

export interface ImportResponse {
  workflow: WorkflowDocument;
  format: "graph-engine" | "comfyui-api" | "comfyui-editor";
  warnings: string[];
}

/** The engine's run events (GET /schema/events), as the websocket carries them. */
export interface EngineEvent {
  type:
    | "run_started"
    | "node_started"
    | "node_progress"
    | "node_cached"
    | "node_skipped"
    | "node_finished"
    | "node_failed"
    | "run_finished"
    | "run_failed"
    | "run_interrupted";
  run_id: string;
  seq: number;
  time: number;
  node_id: string | null;
  node_type?: string;
  value?: number;
  total?: number;
  preview?: { format: string; width: number; height: number } | null;
  files?: string[];
  error_type?: string;
  message?: string;
  reason?: string;
  cause?: string;
  error?: string;
  result?: { status: RunStatus; error: string | null; outputs: Record<string, RunOutput> };
}

export type ServerMessage =
  | { type: "hello"; protocol: number; client_id: string | null; scope: string; cursor: number }
  | { type: "queue"; paused: boolean; running: string[]; queued: number }
  | { type: "replay_done"; cursor: number }
  | { type: "event"; id: number; run_id: string; seq: number; event: EngineEvent }
  | { type: "submitted"; request_id?: string; run_id: string; number: number; position: number }
  | { type: "error"; request_id?: string; status: number; detail: string; errors?: ValidationIssue[] }
  | { type: "pong" };

export interface PreviewFrame {
  run_id: string;
  node_id: string;
  seq: number;
  url: string;
}
