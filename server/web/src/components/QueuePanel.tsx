// Pending runs in run order: move up/down, cancel; the running one can be interrupted.
import { api } from "../api/http";
import type { Run } from "../api/types";
import { refreshQueue } from "../session";
import { useRuns } from "../store/runs";

function RunLine({ run, children }: { run: Run; children: React.ReactNode }) {
  return (
    <li className={`run-line status-${run.status}`} data-run-id={run.id}>
      <span className="run-number">#{run.number}</span>
      <span className="run-name">{run.workflow.name || run.workflow_name || "untitled"}</span>
      <span className={`badge badge-${run.status}`}>{run.status}</span>
      <span className="run-actions">{children}</span>
    </li>
  );
}

export function QueuePanel() {
  const queue = useRuns((s) => s.queue);
  const toast = useRuns((s) => s.toast);
  const act = (action: Promise<unknown>) => action.catch((e) => toast("error", e.message)).finally(refreshQueue);
  return (
    <div className="queue-panel">
      <h4>Running</h4>
      <ul>
        {queue.running.map((run) => (
          <RunLine key={run.id} run={run}>
            <button onClick={() => act(api.interrupt(run.id))}>interrupt</button>
          </RunLine>
        ))}
        {!queue.running.length && <li className="empty">nothing is running</li>}
      </ul>
      <h4>Pending {queue.paused && <em>(queue paused)</em>}</h4>
      <ol>
        {queue.queued.map((run, position) => (
          <RunLine key={run.id} run={run}>
            <button aria-label="run sooner" disabled={position === 0} onClick={() => act(api.moveInQueue(run.id, position - 1))}>
              ▲
            </button>
            <button aria-label="run later" disabled={position === queue.queued.length - 1} onClick={() => act(api.moveInQueue(run.id, position + 1))}>
              ▼
            </button>
            <button aria-label="cancel run" onClick={() => act(api.cancel(run.id))}>
              ✕
            </button>
          </RunLine>
        ))}
        {!queue.queued.length && <li className="empty">the queue is empty</li>}
      </ol>
    </div>
  );
}
