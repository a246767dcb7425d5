"""graph_engine: typed node graphs, JSON workflows, validation, a caching executor, events.

The engine knows nothing about diffusion; node packs bring the nodes. See README.md beside
this file for the API in brief.
"""

from graph_engine.builder import BuildError, NodeHandle, OutputRef, WorkflowBuilder
from graph_engine.cache import CacheEntryInfo, CacheStats, ResultCache
from graph_engine.context import Context, Interrupted
from graph_engine.definition import NodeDefinitionError, node
from graph_engine.document import Link, NodeEntry, ParamSpec, Workflow, load_workflow, loads_workflow
from graph_engine.events import EVENT_SCHEMA_VERSION, Event, parse_event
from graph_engine.executor import Executor, NodeFailure, RunResult
from graph_engine.explain import NodeExplanation, NodeStatus, Reason
from graph_engine.fingerprint import FileHasher, hash_files
from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError
from graph_engine.library import (
    WORKFLOW_PACK_GROUP,
    WORKFLOWS_ENV,
    LibraryEntry,
    WorkflowFolder,
    WorkflowLibrary,
    WorkflowPack,
)
from graph_engine.migrations import SCHEMA_VERSION, Migrations
from graph_engine.pack import NodePack
from graph_engine.registry import ENTRY_POINT_GROUP, PackProblem, Registry, UnknownNodeType
from graph_engine.resources import Resources
from graph_engine.spec import Choices, Description, InputFile, InputSpec, Multiline, NodeSpec, Out, OutputSpec, Range
from graph_engine.subworkflows import WorkflowNodeSpec, compile_workflow
from graph_engine.types import (
    ANY,
    BOOLEAN,
    FLOAT,
    INT,
    STRING,
    AnyType,
    EnumType,
    SocketType,
    check_compatible,
    is_compatible,
)
from graph_engine.workflow_functions import WorkflowFailed, WorkflowFunction, WorkflowFunctions

__all__ = [
    "ANY",
    "BOOLEAN",
    "ENTRY_POINT_GROUP",
    "EVENT_SCHEMA_VERSION",
    "FLOAT",
    "INT",
    "SCHEMA_VERSION",
    "STRING",
    "WORKFLOWS_ENV",
    "WORKFLOW_PACK_GROUP",
    "AnyType",
    "BuildError",
    "CacheEntryInfo",
    "CacheStats",
    "Choices",
    "Context",
    "Description",
    "EnumType",
    "Event",
    "Executor",
    "FileHasher",
    "InputFile",
    "InputSpec",
    "Interrupted",
    "IssueCode",
    "LibraryEntry",
    "Link",
    "Migrations",
    "Multiline",
    "NodeDefinitionError",
    "NodeEntry",
    "NodeExplanation",
    "NodeFailure",
    "NodeHandle",
    "NodePack",
    "NodeSpec",
    "NodeStatus",
    "Out",
    "OutputRef",
    "OutputSpec",
    "PackProblem",
    "ParamSpec",
    "Range",
    "Reason",
    "Registry",
    "Resources",
    "ResultCache",
    "RunResult",
    "SocketType",
    "UnknownNodeType",
    "ValidationIssue",
    "Workflow",
    "WorkflowBuilder",
    "WorkflowFailed",
    "WorkflowFolder",
    "WorkflowFunction",
    "WorkflowFunctions",
    "WorkflowLibrary",
    "WorkflowNodeSpec",
    "WorkflowPack",
    "WorkflowValidationError",
    "check_compatible",
    "compile_workflow",
    "hash_files",
    "is_compatible",
    "load_workflow",
    "loads_workflow",
    "node",
    "parse_event",
]
