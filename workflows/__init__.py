"""The shipped workflows, installed as a workflow pack (entry point group
`graph_engine.workflow_packs`), so `graph-engine run txt2img` and `workflow:txt2img` nodes find
them in a wheel install too."""

from pathlib import Path

from graph_engine.library import WorkflowPack

PACK = WorkflowPack(
    "shipped",
    Path(__file__).parent,
    description="The pipelines that ship with graph-engine: txt2img, img2img, inpaint, hires_fix, ...",
    builtin=True,
)
