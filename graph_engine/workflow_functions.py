"""Library workflows as Python functions: params are keyword arguments, outputs the result.

```python
executor = Executor(Registry.discover(), library=WorkflowLibrary.discover())
flows = WorkflowFunctions(executor)          # or executor.workflows
image = flows.txt2img(prompt="a red circle", seed=7)    # one output: the value itself
both = flows["my-pack.two_outputs"](x=1)                # several: a dict by output name
help(flows.txt2img)                                     # description, params, outputs
```

A call runs on the executor (so its cache serves repeated calls) and either returns or
raises: invalid arguments raise WorkflowValidationError, a failed node WorkflowFailed, an
interrupt Interrupted. `flows.txt2img.run(...)` returns the whole RunResult instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from graph_engine.context import Interrupted
from graph_engine.library import LibraryEntry, WorkflowLibrary
from graph_engine.results import RunResult
from graph_engine.spec import MISSING
from graph_engine.subworkflows import DefinitionError, DefinitionResolver, WorkflowNodeSpec

if TYPE_CHECKING:
    from graph_engine.executor import EventCallback, Executor


class WorkflowFailed(RuntimeError):
    """A library workflow called as a function had failing nodes; `result` holds the details."""

    def __init__(self, name: str, result: RunResult) -> None:
        details = "; ".join(
            f"{failure.node_id} ({failure.node_type}): {failure.error_type}: {failure.message}"
            for failure in result.failures.values()
        )
        super().__init__(f"workflow {name!r} failed: {details or 'a node modified a shared input in place'}")
        self.result = result


def _signature(spec: WorkflowNodeSpec) -> inspect.Signature:
    parameters = [
        inspect.Parameter(
            item.name.replace("-", "_"),
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if item.required else (None if item.default is MISSING else item.default),
        )
        for item in spec.inputs
    ]
    return inspect.Signature(parameters)


def _docstring(entry: LibraryEntry, spec: WorkflowNodeSpec) -> str:
    lines = [spec.description or f"The workflow {entry.name!r}.", "", f"From {entry.source} ({entry.path}).", ""]
    lines.append("Params:")
    for item in spec.inputs:
        kind = item.type.name
        if item.default is not MISSING:
            kind += f", default {item.default!r}"
        elif item.optional:
            kind += ", optional"
        lines.append(f"    {item.name} ({kind})" + (f": {item.description}" if item.description else ""))
    lines += ["", "Returns:"] + [f"    {item.name} ({item.type.name})" for item in spec.outputs]
    return "\n".join(lines)


class WorkflowFunction:
    """One library workflow, callable with its params as keyword arguments."""

    def __init__(self, executor: Executor, entry: LibraryEntry, spec: WorkflowNodeSpec) -> None:
        self.executor = executor
        self.entry = entry
        self.spec = spec
        self.__name__ = entry.name
        self.__doc__ = _docstring(entry, spec)
        self.__signature__ = _signature(spec)

    def run(self, on_event: EventCallback | Iterable[EventCallback] | None = None, **params: Any) -> RunResult:
        """Run it and return the whole RunResult (status, outputs, files, explanations)."""
        known = {item.name.replace("-", "_"): item.name for item in self.spec.inputs}
        named = {known.get(name, name): value for name, value in params.items()}
        return self.executor.run(self.entry.path, named, on_event=on_event)

    def __call__(self, **params: Any) -> Any:
        result = self.run(**params)
        if result.status == "interrupted":
            raise Interrupted(f"workflow {self.entry.name!r} was interrupted")
        if result.status == "failed":
            raise WorkflowFailed(self.entry.name, result)
        if len(self.spec.outputs) == 1:
            return result.outputs[self.spec.outputs[0].name]
        return dict(result.outputs)

    def __repr__(self) -> str:
        return f"<workflow {self.entry.name}{self.__signature__}>"


class WorkflowFunctions:
    """The executor's library workflows by name: `flows.NAME(...)` or `flows["NAME"](...)`."""

    def __init__(self, executor: Executor, library: WorkflowLibrary | None = None) -> None:
        library = library if library is not None else executor.library
        if library is None:
            raise ValueError(
                "the executor has no workflow library: Executor(registry, library=WorkflowLibrary.discover())"
            )
        self.executor = executor
        self.library = library

    def __getitem__(self, name: str) -> WorkflowFunction:
        entry = self.library.find(name)
        if entry is None:
            suggestion = self.library.suggest(name)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise KeyError(f"no workflow named {name!r} in the library{hint}")
        try:
            definition = DefinitionResolver(self.executor.registry, self.library).resolve(name, entry.path.parent)
        except DefinitionError as error:
            raise ValueError(f"workflow {name!r} cannot be called: {error.message}") from None
        return WorkflowFunction(self.executor, entry, definition.spec)

    def __getattr__(self, name: str) -> WorkflowFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name if name in self.library else name.replace("_", "-")]
        except KeyError as error:
            raise AttributeError(str(error.args[0])) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.library.names())

    def __contains__(self, name: object) -> bool:
        return name in self.library

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(name for name in self.library.names() if name.isidentifier())]
