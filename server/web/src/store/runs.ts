// What the server tells about runs: per-node states of the watched run, the queue, history, gallery, errors.
import { create } from "zustand";
import type { EngineEvent, JsonValue, QueueState, Run, RunStatus, ValidationIssue } from "../api/types";

export type NodeRunState = "queued" | "running" | "cached" | "done" | "failed" | "skipped" | "interrupted";

export interface NodeStatus {
  state: NodeRunState;
  progress?: { value: number; total: number };
  preview?: string;
  message?: string;
}

export interface GalleryImage {
  runId: string;
  file: string;
  params: Record<string, JsonValue>;
}

export interface Toast {
  id: number;
  kind: "error" | "info";
  text: string;
}

interface RunsState {
  clientId: string;
  connected: boolean;
  watchedRunId: string | null;
  watchedStatus: RunStatus | null;
  nodeStates: Record<string, NodeStatus>;
  issues: ValidationIssue[];
  runParams: Record<string, Record<string, JsonValue>>;
  queue: QueueState;
  history: Run[];
  gallery: GalleryImage[];
  latestPreview: string | null;
  toasts: Toast[];
  setConnected: (connected: boolean) => void;
  /** Show every node as queued when a run is submitted (unless another run is being shown live). */
  expect: (nodeIds: string[]) => void;
  /** The submission was refused: nothing is queued after all. */
  refused: (issues: ValidationIssue[]) => void;
  watch: (runId: string, nodeIds: string[], params: Record<string, JsonValue>) => void;
  applyEvent: (event: EngineEvent) => void;
  applyPreview: (runId: string, nodeId: string, url: string) => void;
  /** Another workflow was opened: states and errors of the old one no longer apply. */
  clearNodes: () => void;
  setQueue: (queue: QueueState) => void;
  setHistory: (history: Run[]) => void;
  toast: (kind: Toast["kind"], text: string) => void;
  dismiss: (id: number) => void;
}

function newClientId(): string {
  const stored = sessionStorage.getItem("graph-engine-client-id");
  if (stored) return stored;
  const id = `editor-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  sessionStorage.setItem("graph-engine-client-id", id);
  return id;
}

const FINAL_STATUS: Partial<Record<EngineEvent["type"], RunStatus>> = {
  run_finished: "succeeded",
  run_failed: "failed",
  run_interrupted: "interrupted",
};

let nextToastId = 1;

export const useRuns = create<RunsState>((set, get) => ({
  clientId: newClientId(),
  connected: false,
  watchedRunId: null,
  watchedStatus: null,
  nodeStates: {},
  issues: [],
  runParams: {},
  queue: { paused: false, running: [], queued: [] },
  history: [],
  gallery: [],
  latestPreview: null,
  toasts: [],

  setConnected: (connected) => set({ connected }),

  expect: (nodeIds) =>
    set((state) =>
      state.watchedStatus === "running"
        ? {}
        : { watchedRunId: null, watchedStatus: "queued", issues: [], nodeStates: Object.fromEntries(nodeIds.map((id) => [id, { state: "queued" as const }])) },
    ),

  refused: (issues) => set({ issues, nodeStates: {}, watchedStatus: null }),

  watch: (runId, nodeIds, params) =>
    set((state) => {
      const runParams = { ...state.runParams, [runId]: params };
      // Events can arrive before the submit reply; and a run being shown live stays shown until this one starts.
      if (state.watchedRunId === runId || state.watchedStatus === "running") return { runParams };
      return {
        runParams,
        watchedRunId: runId,
        watchedStatus: "queued",
        nodeStates: Object.fromEntries(nodeIds.map((id) => [id, { state: "queued" as const }])),
      };
    }),

  applyEvent: (event) =>
    set((state) => {
      if (event.type === "run_started" && event.run_id !== state.watchedRunId) {
        const queued = Object.fromEntries(Object.keys(state.nodeStates).map((id) => [id, { state: "queued" as const }]));
        return { watchedRunId: event.run_id, watchedStatus: "running", nodeStates: queued, issues: [] };
      }
      const final = FINAL_STATUS[event.type];
      if (final) return finishRun(state, event, final);
      // Images join the gallery as soon as the node that saved them has finished.
      const gallery = event.type === "node_finished" ? withImages(state, event.run_id, event.files ?? []) : state.gallery;
      if (event.run_id !== state.watchedRunId || !event.node_id) return { gallery };
      const nodeStates = { ...state.nodeStates };
      const previous = nodeStates[event.node_id] ?? { state: "queued" };
      switch (event.type) {
        case "node_started":
          nodeStates[event.node_id] = { state: "running" };
          break;
        case "node_progress":
          nodeStates[event.node_id] = {
            ...previous,
            state: "running",
            progress: { value: event.value ?? 0, total: event.total ?? 1 },
          };
          break;
        case "node_cached":
          nodeStates[event.node_id] = { state: "cached" };
          break;
        case "node_finished":
          nodeStates[event.node_id] = { ...previous, state: "done", progress: undefined };
          break;
        case "node_skipped":
          nodeStates[event.node_id] = { state: "skipped", message: event.cause ?? event.reason };
          break;
        case "node_failed":
          nodeStates[event.node_id] = { state: "failed", message: `${event.error_type}: ${event.message}` };
          break;
        default:
          return {};
      }
      return { nodeStates, gallery, watchedStatus: "running" };
    }),

  applyPreview: (runId, nodeId, url) => {
    if (runId !== get().watchedRunId) {
      URL.revokeObjectURL(url);
      return;
    }
    set((state) => {
      const previous = state.nodeStates[nodeId];
      if (previous?.preview && previous.preview !== state.latestPreview) URL.revokeObjectURL(previous.preview);
      return {
        latestPreview: url,
        nodeStates: { ...state.nodeStates, [nodeId]: { ...(previous ?? { state: "running" }), preview: url } },
      };
    });
  },

  clearNodes: () => set((state) => (state.watchedStatus === "running" ? { issues: [] } : { issues: [], nodeStates: {} })),
  setQueue: (queue) => set({ queue }),
  setHistory: (history) => set({ history }),

  toast: (kind, text) => {
    const id = nextToastId++;
    set((state) => ({ toasts: [...state.toasts.slice(-4), { id, kind, text }] }));
    window.setTimeout(() => get().dismiss(id), kind === "error" ? 9000 : 4000);
  },
  dismiss: (id) => set((state) => ({ toasts: state.toasts.filter((t) => t.id !== id) })),
}));

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

function withImages(state: RunsState, runId: string, files: string[]): GalleryImage[] {
  const known = new Set(state.gallery.map((image) => image.file));
  const params = state.runParams[runId] ?? {};
  const added = files.filter((file) => IMAGE_FILE.test(file) && !known.has(file)).map((file) => ({ runId, file, params }));
  return added.length ? [...added, ...state.gallery] : state.gallery;
}

function finishRun(state: RunsState, event: EngineEvent, status: RunStatus): Partial<RunsState> {
  const images = Object.values(event.result?.outputs ?? {}).flatMap((output) =>
    output.kind === "images" ? (output.files ?? []) : [],
  );
  // Images saved by nodes (with the workflow embedded) are the run's pictures; exported outputs only stand in
  // for runs that saved none.
  const saved = state.gallery.some((image) => image.runId === event.run_id);
  const update: Partial<RunsState> = { gallery: saved ? state.gallery : withImages(state, event.run_id, images) };
  if (event.run_id === state.watchedRunId) {
    update.watchedStatus = status;
    const nodeStates = { ...state.nodeStates };
    for (const [id, node] of Object.entries(nodeStates)) {
      // Nodes a failed or interrupted run never reached.
      if (node.state === "queued" || node.state === "running") {
        nodeStates[id] = { state: status === "succeeded" ? "skipped" : "interrupted", message: event.error };
      }
    }
    update.nodeStates = nodeStates;
  }
  return update;
}
