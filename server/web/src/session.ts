// Wires the server to the stores: catalogue, websocket events, the queue and history, submitting runs.
import { api, ApiError } from "./api/http";
import { ServerSocket } from "./api/socket";
import type { JsonValue, ServerMessage, WorkflowDocument } from "./api/types";
import { indexCatalogue, isSeedInput } from "./graph/catalogue";
import { useEditor } from "./store/editor";
import { useRuns } from "./store/runs";
import { nextSeed } from "./widgets/SeedWidget";

const AUTOSAVE_KEY = "graph-engine-editor-workflow";
const FIRST_WORKFLOW = "txt2img"; // the shipped pack's, opened on a first visit

let refreshTimer: number | undefined;

/** Queue and history, refetched at most every 150 ms however many queue messages arrive. */
export function refreshQueue(): void {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(async () => {
    const runs = useRuns.getState();
    try {
      const [queue, history] = await Promise.all([api.queue(), api.history()]);
      runs.setQueue(queue);
      runs.setHistory(history.runs);
    } catch (error) {
      runs.toast("error", `could not read the queue: ${(error as Error).message}`);
    }
  }, 150);
}

function onMessage(message: ServerMessage): void {
  if (message.type === "queue") refreshQueue();
  if (message.type === "event") useRuns.getState().applyEvent(message.event);
}

/** Each param's value as the document sets it (its first target's constant): shown with the run's images. */
export function paramValues(doc: WorkflowDocument): Record<string, JsonValue> {
  const values: Record<string, JsonValue> = {};
  for (const [name, spec] of Object.entries(doc.params ?? {})) {
    const target = typeof spec === "string" ? spec : Array.isArray(spec) ? spec[0] : spec.targets[0];
    const [nodeId, input] = target.split(".");
    const value = doc.nodes[nodeId]?.inputs?.[input];
    if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) values[name] = value;
  }
  return values;
}

/** Submit the graph as it is; then move seeds whose control says so, as ComfyUI does after queueing. */
export async function queueRun(): Promise<void> {
  const editor = useEditor.getState();
  const runs = useRuns.getState();
  const doc = editor.toDocument();
  runs.expect(Object.keys(doc.nodes));
  try {
    const submitted = await api.submit(doc, runs.clientId);
    runs.watch(submitted.run_id, Object.keys(doc.nodes), paramValues(doc));
    runs.toast("info", `queued run #${submitted.number}${submitted.position ? ` (position ${submitted.position + 1})` : ""}`);
  } catch (error) {
    runs.refused(error instanceof ApiError ? error.issues : []);
    if (error instanceof ApiError && error.issues.length) {
      runs.toast("error", `the workflow is invalid: ${error.issues.length} problem(s), marked on the nodes`);
    } else {
      runs.toast("error", `could not queue: ${(error as Error).message}`);
    }
    return;
  }
  advanceSeeds();
  refreshQueue();
}

function advanceSeeds(): void {
  const { index, seedModes, commit } = useEditor.getState();
  if (!index) return;
  const moves = Object.entries(seedModes).filter(([, mode]) => mode !== "fixed");
  if (!moves.length) return;
  commit((graph) => ({
    nodes: graph.nodes.map((node) => {
      const schema = index.nodes.get(node.data.nodeType);
      const values = { ...node.data.values };
      for (const [target, mode] of moves) {
        const [nodeId, inputName] = target.split(".");
        const input = schema?.inputs.find((i) => i.name === inputName);
        if (nodeId !== node.id || !input || !isSeedInput(index, input)) continue;
        values[inputName] = nextSeed(Number(values[inputName] ?? 0), mode, input);
      }
      return { ...node, data: { ...node.data, values } };
    }),
  }));
}

export async function startSession(): Promise<void> {
  const runs = useRuns.getState();
  useEditor.getState().setIndex(indexCatalogue(await api.catalogue()));
  const socket = new ServerSocket(runs.clientId, {
    onMessage,
    onPreview: (preview) => useRuns.getState().applyPreview(preview.run_id, preview.node_id, preview.url),
    onStatus: (connected) => useRuns.getState().setConnected(connected),
  });
  socket.connect();
  refreshQueue();
  const saved = localStorage.getItem(AUTOSAVE_KEY);
  try {
    if (saved) useEditor.getState().load(JSON.parse(saved) as WorkflowDocument);
    else useEditor.getState().load(await api.libraryWorkflow(FIRST_WORKFLOW));
  } catch (error) {
    runs.toast("error", `could not open the last workflow: ${(error as Error).message}`);
  }
  // Nothing is lost on a reload: the graph is saved locally after every change.
  let timer: number | undefined;
  useEditor.subscribe((state, previous) => {
    if (state.nodes === previous.nodes && state.edges === previous.edges && state.meta === previous.meta && state.seedModes === previous.seedModes) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => localStorage.setItem(AUTOSAVE_KEY, JSON.stringify(useEditor.getState().toDocument())), 300);
  });
}
