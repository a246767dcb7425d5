// An image file input: pick an uploaded image or upload one (button or drop onto the node), with a preview.
import { useEffect, useState } from "react";
import { api, fileUrl } from "../api/http";
import type { InputSchema } from "../api/types";
import { useRuns } from "../store/runs";

export function ImageWidget({ input, value, onCommit }: { input: InputSchema; value: string; onCommit: (v: string) => void }) {
  const [files, setFiles] = useState<string[]>([]);
  const toast = useRuns((s) => s.toast);
  const refresh = () => api.inputs().then(setFiles, () => setFiles([]));
  useEffect(() => void refresh(), []);

  const upload = async (file: File) => {
    try {
      const saved = await api.upload(file);
      await refresh();
      onCommit(saved.path);
    } catch (error) {
      toast("error", `upload of ${file.name} refused: ${(error as Error).message}`);
    }
  };
  const options = value && !files.includes(value) ? [value, ...files] : files;
  return (
    <div
      className="image-widget"
      onDragOver={(event) => event.preventDefault()}
      onDrop={(event) => {
        const file = event.dataTransfer.files[0];
        if (file && file.type.startsWith("image/")) {
          event.preventDefault();
          event.stopPropagation();
          void upload(file);
        }
      }}
    >
      <label className="line-widget">
        <span>{input.name}</span>
        <select className="nodrag" name={input.name} value={value} onChange={(e) => onCommit(e.target.value)}>
          {!value && <option value="">choose an image…</option>}
          {options.map((file) => (
            <option key={file} value={file}>
              {file}
            </option>
          ))}
        </select>
      </label>
      <label className="upload-button nodrag">
        upload image
        <input
          type="file"
          accept="image/png,image/jpeg,image/webp"
          name={`${input.name}-upload`}
          onChange={(event) => event.target.files?.[0] && void upload(event.target.files[0])}
        />
      </label>
      {value && files.includes(value) && <img className="input-preview" src={fileUrl("inputs", value)} alt={value} />}
    </div>
  );
}
