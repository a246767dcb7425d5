import "@xyflow/react/dist/style.css";
import { createRoot } from "react-dom/client";
import { App } from "./components/App";
import { startSession } from "./session";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
startSession().then(
  () => root.render(<App />),
  (error: Error) => root.render(<pre className="fatal">Cannot reach the graph-engine server: {error.message}</pre>),
);
