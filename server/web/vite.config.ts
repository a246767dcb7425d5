import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a `graph-engine serve` on the default port.
const API = "http://127.0.0.1:8188";
const routes = ["/nodes", "/runs", "/queue", "/history", "/workflows", "/library", "/files", "/uploads", "/import", "/export", "/system", "/schema"];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: Object.fromEntries([
      ...routes.map((route) => [route, API]),
      ["/ws", { target: API.replace("http", "ws"), ws: true }],
    ]),
  },
});
