// Open a workflow: the server's library (saved) and the shipped examples; delete saved ones.
import { useEffect, useState } from "react";
import { api } from "../api/http";
import type { SavedWorkflowInfo } from "../api/types";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";

export function WorkflowMenu({ onClose }: { onClose: () => void }) {
  const [saved, setSaved] = useState<SavedWorkflowInfo[]>([]);
  const [examples, setExamples] = useState<SavedWorkflowInfo[]>([]);
  const toast = useRuns((s) => s.toast);
  const refresh = () => {
    api.workflows().then(setSaved, (e) => toast("error", `library: ${e.message}`));
    api.examples().then(setExamples, () => setExamples([]));
  };
  useEffect(refresh, [toast]);

  const open = async (fetcher: () => Promise<Parameters<ReturnType<typeof useEditor.getState>["load"]>[0]>, label: string) => {
    try {
      useEditor.getState().load(await fetcher());
      useRuns.getState().clearNodes();
      onClose();
    } catch (error) {
      toast("error", `cannot open ${label}: ${(error as Error).message}`);
    }
  };

  const entry = (info: SavedWorkflowInfo, example: boolean) => (
    <li key={`${example}-${info.name}`}>
      <button className="open-workflow" onClick={() => open(() => (example ? api.example(info.name) : api.workflow(info.name)), info.name)} title={info.description}>
        {info.name}
        <em>{info.description}</em>
      </button>
      {!example && (
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
      )}
    </li>
  );

  return (
    <div className="workflow-menu" role="menu">
      <button className="new-workflow" onClick={() => open(async () => ({ schema_version: 1, name: "", nodes: {} }), "a new workflow")}>
        New empty workflow
      </button>
      <h4>Library</h4>
      <ul>{saved.length ? saved.map((info) => entry(info, false)) : <li className="empty">nothing saved yet</li>}</ul>
      <h4>Examples</h4>
      <ul>{examples.map((info) => entry(info, true))}</ul>
    </div>
  );
}
