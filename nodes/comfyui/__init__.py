"""ComfyUI interop: import its API and editor formats (also from its PNGs), export to its API format.

`nodes.comfyui.mapping` is the table of node types that map; everything else imports as a
placeholder that validation reports with the pack it comes from (`nodes.comfyui.packs`).
"""

from nodes.comfyui.importers import API_FORMAT, EDITOR_FORMAT, EXPORTERS, IMPORTERS

__all__ = ["API_FORMAT", "EDITOR_FORMAT", "EXPORTERS", "IMPORTERS"]
