// Open a workflow: this server's saved ones (deletable), then the installed packs' by pack (read-only; saving
// a copy puts it among the saved ones). Everything comes from GET /workflows and GET /library.
import { useEffect, useState } from "react";
import { api } from "../api/http";
import type { LibraryWorkflowInfo, SavedWorkflowInfo, WorkflowDocument } from "../api/types";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";

function bySource(entries: LibraryWorkflowInfo[]): [string, LibraryWorkflowInfo[]][] {
  const groups = new Map<string, LibraryWorkflowInfo[]>();
  for (const entry of entries) {
    if (entry.source === "saved") continue; // listed from /workflows, with delete buttons
    groups.set(entry.source, [...(groups.get(entry.source) ?? []), entry]);
  }
  return [...groups];
}

export function WorkflowMenu({ onClose }: { onClose: () => void }) {
  const [saved, setSaved] = useState<SavedWorkflowInfo[]>([]);
  const [packs, setPacks] = useState<[string, LibraryWorkflowInfo[]][]>([]);
  const toast = useRuns((s) => s.toast);
  const refresh = () => {
    api.workflows().then(setSaved, (e) => toast("error", `library: ${e.message}`));
    api.library().then((entries) => setPacks(bySource(entries)), (e) => toast("error", `library: ${e.message}`));
  };
  useEffect(refresh, [toast]);

  const open = async (fetcher: () => Promise<WorkflowDocument>, label: string) => {
    try {
      useEditor.getState().load(await fetcher());
      useRuns.getState().clearNodes();
      onClose();
    } catch (error) {
      toast("error", `cannot open ${label}: ${(error as Error).message}`);
    }
  };

  const openButton = (name: string, description: string, fetcher: () => Promise<WorkflowDocument>) => (
    <button className="open-workflow" onClick={() => open(fetcher, name)} title={description}>
      {name}
      <em>{description}</em>
    </button>
  );

  const savedEntry = (info: SavedWorkflowInfo) => (
    <li key={`saved-${info.name}`}>
      {openButton(info.name, info.description, () => api.workflow(info.name))}
      <button
        className="delete"
        aria-label={`delete ${info.name}`}
        onClick={async () => {
          if (!window.confirm(`Delete '${info.name}' from the library?`)) return;
          await api.deleteWorkflow(info.name).catch((e) => toast("error", e.message));
          refresh();
        }}
      >
        ✕
      </button>
    </li>
  );

  const packEntry = (info: LibraryWorkflowInfo) => (
    <li key={`${info.source}-${info.name}`}>
      {openButton(info.name, info.problem ?? info.description, () => api.libraryWorkflow(info.name))}
    </li>
  );

  return (
    <div className="workflow-menu" role="menu">
      <button className="new-workflow" onClick={() => open(async () => ({ schema_version: 1, name: "", nodes: {} }), "a new workflow")}>
        New empty workflow
      </button>
      <h4>Saved</h4>
      <ul>{saved.length ? saved.map(savedEntry) : <li className="empty">nothing saved yet</li>}</ul>
      {packs.map(([source, entries]) => (
        <section key={source}>
          <h4>{source}</h4>
          <ul>{entries.map(packEntry)}</ul>
        </section>
      ))}
    </div>
  );
}
