"""ComfyUI's sampler and scheduler names and ours.

Names missing from a table have no counterpart: import keeps them (validation then lists the
choices) and export refuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from nodes.schedulers import SAMPLER_NAMES, SCHEDULE_NAMES

Warn = Callable[[str], None]

# ComfyUI name -> ours, and why when it is not the same algorithm exactly.
SAMPLERS: dict[str, tuple[str, str]] = {
    **{name: (name, "") for name in (
        "euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2s_ancestral",
        "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "ddim", "ddpm", "uni_pc", "uni_pc_bh2", "lcm",
    )},
    "dpmpp_sde_gpu": ("dpmpp_sde", "the same sampler with its noise drawn on the CPU"),
    "dpmpp_2m_sde_gpu": ("dpmpp_2m_sde", "the same sampler with its noise drawn on the CPU"),
}
SCHEDULERS: dict[str, tuple[str, str]] = {
    **{name: (name, "") for name in ("normal", "karras", "exponential", "simple", "sgm_uniform")},
    "ddim_uniform": ("leading", "evenly strided timesteps, as diffusers' 'leading' spacing"),
}


def _reverse(table: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Ours -> (ComfyUI name, why it is approximate): the exact counterpart where there is one."""
    reverse: dict[str, tuple[str, str]] = {}
    for name, (ours, why) in sorted(table.items(), key=lambda item: bool(item[1][1])):
        reverse.setdefault(ours, (name, why))
    return reverse


SAMPLERS_TO_COMFY = _reverse(SAMPLERS)
SCHEDULERS_TO_COMFY = _reverse(SCHEDULERS)


def _importer(table: dict[str, tuple[str, str]], what: str) -> Callable[[object, Warn], object]:
    def convert(value: object, warn: Warn) -> object:
        if not isinstance(value, str) or value not in table:
            known = ", ".join(sorted({ours for ours, _ in table.values()}))
            warn(f"{what} {value!r} has no counterpart here (choose one of: {known})")
            return value
        ours, why = table[value]
        if why:
            warn(f"{what} {value!r} became {ours!r}: {why}")
        return ours

    return convert


def _exporter(table: dict[str, tuple[str, str]], ours: Collection[str], what: str) -> Callable[[object, Warn], object]:
    def convert(value: object, warn: Warn) -> object:
        if value in table:
            name, why = table[value]  # type: ignore[index]
            if why:
                warn(f"{what} {value!r} became ComfyUI's {name!r}: {why}")
            return name
        if value in ours:
            known = ", ".join(sorted(table))
            raise ValueError(f"{what} {value!r} has no ComfyUI counterpart (these have: {known})")
        return value  # not one of ours: a ComfyUI name kept by the import, which ComfyUI knows

    return convert


sampler_to_ours = _importer(SAMPLERS, "sampler")
scheduler_to_ours = _importer(SCHEDULERS, "scheduler")
sampler_to_comfy = _exporter(SAMPLERS_TO_COMFY, SAMPLER_NAMES, "sampler")
scheduler_to_comfy = _exporter(SCHEDULERS_TO_COMFY, SCHEDULE_NAMES, "scheduler")
