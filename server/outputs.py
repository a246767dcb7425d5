"""A run's files and output values, made public under data_dir/outputs/<run_id>/.

Nodes write into a hidden per-run staging folder (the executor's output_dir). As
soon as a node has finished, its files are complete and are moved (atomically,
never overwriting) into the public folder; download endpoints cannot see the
staging folder, so no client ever reads a half-written file.
"""

from __future__ import annotations

import io
import math
import shutil
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from graph_engine.values import summarize
from server.files import move_new, write_new_file

STAGING_FOLDER = ".staging"


class RunFiles:
    def __init__(self, outputs_root: Path, run_id: str) -> None:
        self.run_id = run_id
        self.staging = outputs_root / STAGING_FOLDER / run_id
        self.public = outputs_root / run_id
        self._published: dict[Path, str] = {}  # staged path -> public path relative to outputs_root

    def publish(self, paths: list[str]) -> list[str]:
        """Move reported files out of staging; return their public paths (relative to outputs/).

        Files outside the staging folder are not served, so they are left out.
        """
        public = []
        for text in paths:
            path = Path(text)
            if path in self._published:
                public.append(self._published[path])
            elif path.is_relative_to(self.staging) and path.is_file():
                relative = path.relative_to(self.staging)
                moved = move_new(path, self.public / relative.parent, relative.name)
                self._published[path] = self._relative(moved)
                public.append(self._published[path])
        return public

    def finish(self) -> list[str]:
        """Publish whatever is left in staging (files nodes wrote without reporting) and remove it."""
        left = [str(path) for path in sorted(self.staging.rglob("*")) if path.is_file()] if self.staging.exists() else []
        public = self.publish(left)
        self.discard_staging()
        return public

    def discard_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def _relative(self, path: Path) -> str:
        return f"{self.run_id}/{path.relative_to(self.public).as_posix()}"

    def export_value(self, name: str, value: Any) -> dict[str, Any]:
        """A workflow output as JSON: a plain value, image files, or a one-line summary."""
        if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
            return {"kind": "value", "value": value}
        images = _as_images(value)
        if images is not None:
            files = []
            for index, image in enumerate(images):
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                saved = write_new_file(self.public, f"{_safe_stem(name)}_{index:03d}.png", buffer.getvalue())
                files.append(self._relative(saved))
            return {"kind": "images", "files": files}
        return {"kind": "summary", "summary": summarize(value)}


def _safe_stem(name: str) -> str:
    stem = "".join(char if char.isascii() and (char.isalnum() or char in "_-") else "_" for char in name)
    return stem.lstrip("_-") or "output"


def _as_images(value: Any) -> list[Image.Image] | None:
    """PIL images for a PIL image or an IMAGE tensor ([B,H,W,C] or [H,W,C] floats in 0..1), else None."""
    if isinstance(value, Image.Image):
        return [value]
    torch = sys.modules.get("torch")  # no tensor can exist unless torch was imported
    if torch is None or not isinstance(value, torch.Tensor) or not value.is_floating_point():
        return None
    batch = value.unsqueeze(0) if value.dim() == 3 else value
    if batch.dim() != 4 or batch.shape[-1] not in (1, 3, 4) or batch.shape[1] < 1 or batch.shape[2] < 1:
        return None
    pixels = batch.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    return [Image.fromarray(item[..., 0] if item.shape[-1] == 1 else item) for item in pixels]
