// Finished runs, newest first, with their images; load a run's workflow back into the editor.
import { api, fileUrl } from "../api/http";
import type { Run } from "../api/types";
import { refreshQueue } from "../session";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

/** Images saved by the run's nodes; its exported output images only when it saved none (as the gallery does). */
function runImages(run: Run): string[] {
  const exported = Object.values(run.outputs).flatMap((output) => output.files ?? []);
  const saved = run.files.filter((file) => IMAGE_FILE.test(file) && !exported.includes(file));
  return saved.length ? saved : exported.filter((file) => IMAGE_FILE.test(file));
}

export function HistoryPanel() {
  const history = useRuns((s) => s.history);
  const toast = useRuns((s) => s.toast);
  if (!history.length) return <p className="empty">No finished runs yet.</p>;
  return (
    <ul className="history">
      {history.map((run) => (
        <li key={run.id} className={`history-run status-${run.status}`} data-run-id={run.id}>
          <div className="history-head">
            <span className="run-number">#{run.number}</span>
            <span className="run-name">{run.workflow.name || run.workflow_name || "untitled"}</span>
            <span className={`badge badge-${run.status}`}>{run.status}</span>
          </div>
          {run.error && <div className="node-message error">{run.error}</div>}
          <div className="history-images">
            {runImages(run).map((file) => (
                <a key={file} href={fileUrl("outputs", file)} target="_blank" rel="noreferrer">
                  <img src={fileUrl("outputs", file)} alt={file} />
                </a>
              ))}
          </div>
          <div className="history-actions">
            <button
              onClick={() => {
                useEditor.getState().load(run.workflow);
                useRuns.getState().clearNodes();
                toast("info", `loaded the workflow of run #${run.number}`);
              }}
            >
              load workflow
            </button>
            <button onClick={() => api.deleteRun(run.id).then(refreshQueue, (e) => toast("error", e.message))}>forget</button>
          </div>
        </li>
      ))}
    </ul>
  );
}
