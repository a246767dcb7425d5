// Opening files: our JSON, PNGs with an embedded workflow and ComfyUI files, converted by the server's /import.
import { api, ApiError } from "./api/http";
import { useEditor } from "./store/editor";
import { useRuns } from "./store/runs";

export async function importFile(file: File): Promise<void> {
  const toast = useRuns.getState().toast;
  try {
    const imported = await api.importFile(file);
    useEditor.getState().load(imported.workflow);
    useRuns.getState().clearNodes();
    toast("info", `opened ${file.name} (${imported.format})`);
    for (const warning of imported.warnings) toast("info", warning);
  } catch (error) {
    const first = error instanceof ApiError ? error.issues[0]?.message : undefined;
    toast("error", `cannot open ${file.name}: ${(error as Error).message}${first ? `: ${first}` : ""}`);
  }
}

export function exportWorkflow(): void {
  const doc = useEditor.getState().toDocument();
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${doc.name || "workflow"}.json`;
  link.click();
  URL.revokeObjectURL(link.href);
}
