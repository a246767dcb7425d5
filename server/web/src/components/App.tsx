import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { queueRun } from "../session";
import { Canvas } from "./Canvas";
import { NodeLibrary } from "./NodeLibrary";
import { SidePanel } from "./SidePanel";
import { Toasts } from "./Toasts";
import { Toolbar } from "./Toolbar";

export function App() {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
        event.preventDefault();
        (document.activeElement as HTMLElement | null)?.blur(); // commit the widget being edited first
        window.setTimeout(() => void queueRun(), 0);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <ReactFlowProvider>
      <div className="app">
        <Toolbar />
        <main>
          <NodeLibrary />
          <Canvas />
          <SidePanel />
        </main>
        <Toasts />
      </div>
    </ReactFlowProvider>
  );
}
