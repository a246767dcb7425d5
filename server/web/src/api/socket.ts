// The websocket client: resumes from the last event id after a drop, decodes preview frames.
import { withToken } from "./http";
import type { PreviewFrame, ServerMessage } from "./types";

const PREVIEW_FRAME = 1;

export interface SocketHandlers {
  onMessage: (message: ServerMessage) => void;
  onPreview: (preview: PreviewFrame) => void;
  onStatus: (connected: boolean) => void;
}

function decodePreview(buffer: ArrayBuffer): PreviewFrame | null {
  const view = new DataView(buffer);
  if (buffer.byteLength < 8 || view.getUint32(0) !== PREVIEW_FRAME) return null;
  const headerLength = view.getUint32(4);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const image = new Blob([new Uint8Array(buffer, 8 + headerLength)], { type: `image/${header.format}` });
  return { run_id: header.run_id, node_id: header.node_id, seq: header.seq, url: URL.createObjectURL(image) };
}

export class ServerSocket {
  private socket: WebSocket | null = null;
  private lastEventId: number | null = null;
  private closed = false;
  private retryMs = 500;

  constructor(
    private readonly clientId: string,
    private readonly handlers: SocketHandlers,
  ) {}

  connect(): void {
    const params = new URLSearchParams({ client_id: this.clientId, scope: "all" });
    if (this.lastEventId !== null) params.set("last_event_id", String(this.lastEventId));
    const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(withToken(`${protocol}//${window.location.host}/ws?${params}`));
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.retryMs = 500;
      this.handlers.onStatus(true);
    };
    socket.onmessage = (message) => {
      if (message.data instanceof ArrayBuffer) {
        const preview = decodePreview(message.data);
        if (preview) this.handlers.onPreview(preview);
        return;
      }
      const parsed = JSON.parse(message.data as string) as ServerMessage;
      if (parsed.type === "event") this.lastEventId = parsed.id;
      if (parsed.type === "hello" && this.lastEventId === null) this.lastEventId = parsed.cursor;
      this.handlers.onMessage(parsed);
    };
    socket.onclose = () => {
      this.handlers.onStatus(false);
      if (this.closed) return;
      window.setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 8000);
    };
    this.socket = socket;
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
