"""Cache keys: a stable hash of what determines a node's result.

key = hash(key format, node type, node version, constant inputs, for each linked input the
producer's key and output name, fingerprint). The node id is not part of it, so identical
subgraphs share results across workflows. Each key is computed once from the keys of its
inputs, in topological order: nothing re-walks a node's ancestry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graph_engine.spec import NodeSpec

# Bump when the key layout changes, so old and new keys never collide.
KEY_FORMAT = 1


# One encoder for every key: json.dumps builds a new one per call when given options.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def node_key(
    spec: NodeSpec,
    constants: Mapping[str, Any],
    upstream: Mapping[str, tuple[str, str]],
    fingerprint: Any = None,
) -> str:
    """The cache key of a node; `upstream` maps input name -> (producer key, output name).

    Raises TypeError/ValueError if a constant or the fingerprint is not plain JSON.
    """
    payload = _ENCODE([KEY_FORMAT, spec.name, spec.version, constants, upstream, fingerprint])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()
