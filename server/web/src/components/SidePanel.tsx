// The right-hand panel: the live preview and gallery, the queue, the history and the workflow's params.
import { useState } from "react";
import { GalleryPanel } from "./GalleryPanel";
import { HistoryPanel } from "./HistoryPanel";
import { ParamsPanel } from "./ParamsPanel";
import { QueuePanel } from "./QueuePanel";
import { useRuns } from "../store/runs";

const TABS = ["Images", "Queue", "History", "Params"] as const;
type Tab = (typeof TABS)[number];

export function SidePanel() {
  const [tab, setTab] = useState<Tab>("Images");
  const pending = useRuns((s) => s.queue.queued.length + s.queue.running.length);
  return (
    <aside className="side-panel">
      <nav role="tablist">
        {TABS.map((name) => (
          <button key={name} role="tab" aria-selected={tab === name} className={tab === name ? "active" : ""} onClick={() => setTab(name)}>
            {name}
            {name === "Queue" && pending > 0 && <span className="count">{pending}</span>}
          </button>
        ))}
      </nav>
      <div className="panel-body">
        {tab === "Images" && <GalleryPanel />}
        {tab === "Queue" && <QueuePanel />}
        {tab === "History" && <HistoryPanel />}
        {tab === "Params" && <ParamsPanel />}
      </div>
    </aside>
  );
}
