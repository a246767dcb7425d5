"""Looking inside values that flow between nodes: byte sizes, tensor versions, summaries.

None of this imports torch, numpy or PIL: if a library is not imported yet, no value of
its types can exist, so we look it up in sys.modules. Containers are walked with an
explicit stack (no recursion), stopping at objects that describe themselves through
`__graph_nbytes__()`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

_CONTAINERS = (list, tuple, set, frozenset)
_SCALARS = frozenset({int, float, bool, str, bytes, type(None)})


def _walk(value: Any) -> Iterator[tuple[Any, bool]]:
    """Every object inside `value` once, as (object, is_container); nn.Modules open into tensors."""
    torch = sys.modules.get("torch")
    module_type = torch.nn.Module if torch is not None else None
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) in _SCALARS:  # the common case, answered before any other check
            yield item, False
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if hasattr(type(item), "__graph_nbytes__"):
            yield item, False
        elif isinstance(item, dict):
            yield item, True
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            yield item, True
            stack.extend(item)
        elif module_type is not None and isinstance(item, module_type):
            stack.extend(item.parameters())
            stack.extend(item.buffers())
        else:
            yield item, False


def nbytes(value: Any) -> int:
    """Approximate memory held by `value`, for the cache's byte budget.

    Counts torch tensors (each storage once, so views and tied weights are not counted
    twice), nn.Modules (parameters and buffers), numpy arrays, PIL images, strings and
    bytes, containers and their contents, and any object with a `__graph_nbytes__()`
    method. Other objects count their shallow `sys.getsizeof`.
    """
    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")
    pil_image = sys.modules.get("PIL.Image")
    storages: set[int] = set()
    total = 0
    for item, is_container in _walk(value):
        if is_container:
            total += sys.getsizeof(item)
        elif hasattr(type(item), "__graph_nbytes__"):
            total += int(item.__graph_nbytes__())
        elif torch is not None and isinstance(item, torch.Tensor):
            total += _tensor_nbytes(item, storages)
        elif numpy is not None and isinstance(item, numpy.ndarray):
            total += int(item.nbytes)
        elif pil_image is not None and isinstance(item, pil_image.Image):
            total += item.width * item.height * len(item.getbands())
        elif isinstance(item, (bytes, bytearray, str)):
            total += len(item)
        else:
            total += sys.getsizeof(item)
    return total


def _tensor_nbytes(tensor: Any, storages: set[int]) -> int:
    try:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
    except (RuntimeError, NotImplementedError):  # sparse, meta or other storage-less tensors
        return tensor.element_size() * tensor.nelement()
    if pointer in storages and pointer != 0:
        return 0
    storages.add(pointer)
    return int(storage.nbytes())


TensorVersions = tuple[tuple[Any, int], ...]


def tensor_versions(value: Any) -> TensorVersions:
    """Each tensor inside `value` with its version counter (bumped by every in-place op)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return ()
    return tuple((item, item._version) for item, _ in _walk(value) if isinstance(item, torch.Tensor))


def changed_in_place(versions: TensorVersions) -> bool:
    return any(tensor._version != version for tensor, version in versions)


def summarize(value: Any) -> str:
    """A one-line description of a value for events and logs (shape and dtype for tensors)."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__}[{', '.join(str(size) for size in shape)}] {dtype}"
    if isinstance(value, dict):
        return f"dict({', '.join(f'{key}: {summarize(item)}' for key, item in list(value.items())[:8])})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
