"""Cache keys: a stable hash of what determines a node's result.

key = hash(key format, node type, node version, constant inputs, for each linked input its
name, the producer's output name and the producer's key, fingerprint). The node id is not
part of it, so identical subgraphs share results across workflows. Each key is computed
once from the keys of its inputs, in topological order: nothing re-walks a node's ancestry.

The part that depends only on the node itself (`key_base`) is encoded once per compiled
node and reused by every run that compiles to the same node; a run only appends its
producers' keys and the fingerprint and hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from graph_engine.spec import NodeSpec

# Bump when the key layout changes, so old and new keys never collide.
KEY_FORMAT = 2


# One encoder for every key: json.dumps builds a new one per call when given options.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def key_base(spec: NodeSpec, constants: Mapping[str, Any], linked_outputs: Iterable[tuple[str, str]]) -> str:
    """The node's own part of its key; `linked_outputs` lists (input name, producer output
    name) in the order `node_key` receives the producers' keys.

    Raises TypeError/ValueError if a constant is not plain JSON.
    """
    return _ENCODE([KEY_FORMAT, spec.name, spec.version, constants, list(linked_outputs)])


def node_key(base: str, producer_keys: Iterable[str], fingerprint: Any = None) -> str:
    """The cache key of a node from its `key_base` and its producers' keys (same order).

    `base` is a complete JSON array and keys are fixed-length hex digests, so the
    concatenation is unambiguous. Raises TypeError/ValueError if the fingerprint is not
    plain JSON.
    """
    payload = f"{base}|{','.join(producer_keys)}"
    if fingerprint is not None:
        payload += "|" + _ENCODE(fingerprint)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()
