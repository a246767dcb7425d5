// The top bar: workflow name, open/save/import/export, undo/redo, Queue and Cancel.
import { useEffect, useRef, useState } from "react";
import { api } from "../api/http";
import { exportWorkflow, importFile } from "../importing";
import { queueRun, refreshQueue } from "../session";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";
import { WorkflowMenu } from "./WorkflowMenu";

export function Toolbar() {
  const name = useEditor((s) => s.meta.name);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const connected = useRuns((s) => s.connected);
  const running = useRuns((s) => s.queue.running);
  const queued = useRuns((s) => s.queue.queued.length);
  const toast = useRuns((s) => s.toast);
  const [menu, setMenu] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const save = async () => {
    const editor = useEditor.getState();
    const chosen = window.prompt("Save to the workflow library as:", editor.meta.name || "workflow");
    if (!chosen) return;
    if (chosen !== editor.meta.name) editor.setMeta({ name: chosen });
    try {
      await api.saveWorkflow(chosen, useEditor.getState().toDocument());
      toast("info", `saved '${chosen}' to the library`);
    } catch (error) {
      toast("error", `could not save: ${(error as Error).message}`);
    }
  };

  const cancelCurrent = async () => {
    for (const run of running) await api.interrupt(run.id).catch(() => undefined);
    refreshQueue();
  };

  // Ctrl+S saves to the library, as in ComfyUI (instead of the browser saving the page).
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        void saveRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <header className="toolbar">
      <span className="brand">graph-engine</span>
      <input
        className="workflow-name"
        aria-label="workflow name"
        value={name}
        placeholder="untitled workflow"
        onChange={(e) => useEditor.getState().setMeta({ name: e.target.value })}
      />
      <div className="menu-anchor">
        <button onClick={() => setMenu(!menu)}>Open ▾</button>
        {menu && <WorkflowMenu onClose={() => setMenu(false)} />}
      </div>
      <button onClick={save} title="Save to the library (Ctrl+S)">
        Save
      </button>
      <button onClick={() => fileInput.current?.click()}>Import…</button>
      <input
        ref={fileInput}
        type="file"
        hidden
        name="import-file"
        accept=".json,.png,application/json,image/png"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void importFile(file);
          e.target.value = "";
        }}
      />
      <button onClick={exportWorkflow}>Export</button>
      <span className="separator" />
      <button disabled={!canUndo} onClick={() => useEditor.getState().undo()} title="Undo (Ctrl+Z)">
        ↶
      </button>
      <button disabled={!canRedo} onClick={() => useEditor.getState().redo()} title="Redo (Ctrl+Y)">
        ↷
      </button>
      <span className="spacer" />
      <span className={`connection ${connected ? "up" : "down"}`} title={connected ? "connected to the server" : "reconnecting…"} />
      <span className="queue-size">{running.length ? "running" : "idle"} · {queued} queued</span>
      <button className="cancel" disabled={!running.length} onClick={cancelCurrent}>
        Cancel
      </button>
      <button className="queue-button" onClick={() => void queueRun()} title="Queue the workflow (Ctrl+Enter)">
        Queue
      </button>
    </header>
  );
}
