// The preview while sampling, then the final images with the params they were made with.
import { useState } from "react";
import { fileUrl } from "../api/http";
import type { GalleryImage } from "../store/runs";
import { useRuns } from "../store/runs";

function ParamList({ params }: { params: GalleryImage["params"] }) {
  return (
    <dl className="param-list">
      {Object.entries(params).map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{typeof value === "string" ? value || "—" : JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function GalleryPanel() {
  const gallery = useRuns((s) => s.gallery);
  const preview = useRuns((s) => s.latestPreview);
  const status = useRuns((s) => s.watchedStatus);
  const [chosen, setChosen] = useState<GalleryImage | null>(null);
  const shown = chosen ?? gallery[0] ?? null;
  return (
    <div className="gallery">
      {status === "running" && preview ? (
        <figure className="main-image">
          <img src={preview} alt="sampling preview" className="live-preview" />
          <figcaption>preview while sampling</figcaption>
        </figure>
      ) : shown ? (
        <figure className="main-image">
          <a href={fileUrl("outputs", shown.file)} target="_blank" rel="noreferrer">
            <img src={fileUrl("outputs", shown.file)} alt={shown.file} data-testid="final-image" />
          </a>
          <figcaption>{shown.file}</figcaption>
          <ParamList params={shown.params} />
        </figure>
      ) : (
        <p className="empty">Queue the workflow (Ctrl+Enter) and its images appear here.</p>
      )}
      <div className="thumbnails">
        {gallery.map((image) => (
          <button key={image.file} className={shown?.file === image.file ? "active" : ""} onClick={() => setChosen(image)}>
            <img src={fileUrl("outputs", image.file)} alt={image.file} />
          </button>
        ))}
      </div>
    </div>
  );
}
