// The HTTP API client. The access token (when the server has one) comes from the page's ?token=.
import type {
  Catalogue,
  HistoryPage,
  ImportResponse,
  JsonValue,
  LibraryWorkflowInfo,
  QueueState,
  Run,
  SavedWorkflowInfo,
  UploadResponse,
  ValidationIssue,
  WorkflowDocument,
} from "./types";

const token = new URLSearchParams(window.location.search).get("token");

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super(message);
  }
}

/** A URL a browser can fetch directly (images, the websocket), carrying the token. */
export function withToken(path: string): string {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

export function fileUrl(kind: "inputs" | "outputs", path: string): string {
  return withToken(`/files/${kind}/${path.split("/").map(encodeURIComponent).join("/")}`);
}

async function request<T>(method: string, path: string, body?: BodyInit, contentType?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (contentType) headers["Content-Type"] = contentType;
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) {
    let detail = `${method} ${path}: HTTP ${response.status}`;
    let issues: ValidationIssue[] = [];
    try {
      const data = await response.json();
      if (typeof data.detail === "string") detail = data.detail;
      else if (Array.isArray(data.detail)) detail = data.detail.map((d: { msg?: string }) => d.msg ?? "").join("; ");
      issues = Array.isArray(data.errors) ? data.errors : [];
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail, issues);
  }
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

const json = (value: unknown): [string, string] => [JSON.stringify(value), "application/json"];

export const api = {
  catalogue: () => request<Catalogue>("GET", "/nodes"),
  submit: (workflow: WorkflowDocument, clientId: string, params: Record<string, JsonValue> = {}) =>
    request<{ run_id: string; number: number; position: number }>(
      "POST", "/runs", ...json({ workflow, params, client_id: clientId })),
  run: (runId: string) => request<{ run: Run }>("GET", `/runs/${runId}`),
  deleteRun: (runId: string) => request<void>("DELETE", `/runs/${runId}`),
  interrupt: (runId: string) => request<unknown>("POST", `/runs/${runId}/interrupt`),
  queue: () => request<QueueState>("GET", "/queue"),
  moveInQueue: (runId: string, index: number) => request<unknown>("PATCH", `/queue/${runId}`, ...json({ index })),
  cancel: (runId: string) => request<unknown>("DELETE", `/queue/${runId}`),
  history: (limit = 50) => request<HistoryPage>("GET", `/history?limit=${limit}`),
  workflows: () => request<SavedWorkflowInfo[]>("GET", "/workflows"),
  workflow: (name: string) => request<WorkflowDocument>("GET", `/workflows/${encodeURIComponent(name)}`),
  saveWorkflow: (name: string, document: WorkflowDocument) =>
    request<SavedWorkflowInfo>("PUT", `/workflows/${encodeURIComponent(name)}`, ...json(document)),
  deleteWorkflow: (name: string) => request<void>("DELETE", `/workflows/${encodeURIComponent(name)}`),
  library: () => request<LibraryWorkflowInfo[]>("GET", "/library"),
  libraryWorkflow: (name: string) => request<WorkflowDocument>("GET", `/library/${encodeURIComponent(name)}`),
  inputs: () => request<string[]>("GET", "/files/inputs"),
  upload: (file: File) =>
    request<UploadResponse>("POST", `/uploads?filename=${encodeURIComponent(file.name)}`, file,
      file.type || "application/octet-stream"),
  importFile: (file: File) => {
    const form = new FormData();
    form.append("file", file, file.name);
    return request<ImportResponse>("POST", "/import", form);
  },
};
