"""Run `__main__.py` under Pulumi's mock engine and record the plan.

This is the same program `pulumi up` runs; only the engine differs: resource
registrations go to a recording monitor instead of the Pulumi CLI, and providers are
replaced by `preview.mocks`, which answer the way a provider would (ids, computed
outputs such as endpoints). Nothing here needs a network, an account or the CLI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import difflib
import functools
import gc
import json
import logging
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import known_types, resource_cycle_breaker, rpc
from pulumi.runtime import stack as sdk_stack
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import ROOT, SETTINGS, _get_rpc_manager, configure
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.config.read import mark_offline_preview

from .mocks import PlanMocks

ROOT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ml-clusters"
SECRET_SIG = rpc._special_sig_key
SECRET_MARK = rpc._special_secret_sig
UNKNOWN = rpc.UNKNOWN


def input_at(inputs: Any, path: str) -> Any:
    """The value at a dotted path in a resource's inputs (`spec.template.spec.nodeClassRef`),
    or None where the path does not lead to one."""
    for key in path.split("."):
        inputs = inputs.get(key) if isinstance(inputs, dict) else None
    return inputs


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    inputs: dict[str, Any]  # engine (camelCase) names; secrets still wrapped
    protect: bool = False
    provider: str = ""
    dependencies: tuple[str, ...] = ()  # URNs this resource explicitly depends on
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()  # input paths the engine keeps from state on update
    replace_on_changes: tuple[str, ...] = ()  # input paths whose change makes the engine replace

    def plain_inputs(self) -> dict[str, Any]:
        """Inputs as plain JSON with secrets shown as "[secret]"."""
        return redact(self.inputs)


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: Optional[str] = None) -> PlannedResource:
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.by_type(type_))
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)} among {names}")
        return found[0]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def redact(value: Any) -> Any:
    if is_secret(value):
        return "[secret]"
    if value == UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def unwrap_secrets(value: Any) -> Any:
    if is_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what it needs for a plan: each resource's
    parent, whether it is custom, its options, and the stack's outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks, plan: Plan):
        super().__init__(mocks)
        self.plan = plan

    fast = False  # set by the engine's shortcuts

    def _register(self, request):
        """MockMonitor.RegisterResource, serializing only the outputs the mocks computed: the
        rest of a resource's state is its inputs, already serialized in the request."""
        if not self.fast or request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
            transforms=pulumi_mocks._resolve_callbacks(request.transforms),
        )
        id_, state = self.mocks.new_resource(args)
        if set(inputs) - set(state):  # the mocks dropped an input: serialize the whole state
            obj = _drive(rpc.serialize_properties(state, {}))
        else:
            obj = struct_pb2.Struct()
            obj.CopyFrom(request.object)
            computed = _drive(rpc.serialize_properties({k: v for k, v in state.items() if k not in inputs or v is not inputs[k]}, {}))
            for key, value in computed.fields.items():
                obj.fields[key].CopyFrom(value)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

    def RegisterResource(self, request):
        response = self._register(request)
        if request.type != "pulumi:pulumi:Stack":
            self.plan.resources.append(
                PlannedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    protect=bool(request.protect),
                    provider=request.provider,
                    dependencies=tuple(sorted(request.dependencies)),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=tuple(request.ignoreChanges),
                    replace_on_changes=tuple(request.replaceOnChanges),
                )
            )
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[-2] == "pulumi:pulumi:Stack":
            self.plan.outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


class _WarningCollector(logging.Handler):
    def __init__(self, plan: Plan):
        super().__init__(logging.WARNING)
        self.plan = plan

    def emit(self, record: logging.LogRecord) -> None:
        self.plan.warnings.append(record.getMessage())


# --- Engine shortcuts --------------------------------------------------------------------
# Where a large preview's time went (profiled with cProfile on 64 GPU pools x 64 namespaces),
# and what the engine does instead while it evaluates a program; none of it changes what is
# registered (tests/preview/test_engine.py compares the plans with and without them):
# - the SDK waits for outstanding Outputs with asyncio.wait(FIRST_COMPLETED) in a loop,
#   re-arming a callback on every pending task per round (quadratic in a large program);
#   waiting for all of them at once reaches the same quiescence.
# - each registration captures a full Python stack trace (traceback.extract_stack, reading
#   source lines) for the engine's diagnostics; the mock monitor never reads it.
# - the dependency cycle check copies a resource's dependency set on every new edge and
#   walks the graph with nested generators; an explicit stack and in-place sets give the
#   same answer (the edge is refused when it closes a cycle), and a resource nothing
#   depends on yet cannot close one, so no walk is needed for it.
# - the SDK's debug log lines go through the engine as protobuf messages; the preview keeps
#   only warnings, so debug lines are dropped before they are built.
# - every monitor call goes to a worker thread (run_in_executor) and back; the mock monitor
#   answers at once, so the calls run inline, and the values it serializes (plain data from
#   preview/mocks.py) are serialized without re-entering the event loop where possible.
# - each dependency edge awaits the dependency's URN through a new coroutine; a URN that is
#   already resolved is read directly.
# - the mock monitor serializes a resource's whole state back for every registration; only
#   the outputs the mocks computed need it, the rest are the request's own inputs.
# - Python's cyclic garbage collector walks every live object again and again while a large
#   program builds tens of thousands of Outputs and futures that all stay alive until the
#   end (a third of a 1,400-resource preview's CPU); it is paused for the evaluation and
#   resumed after it.
# - `depends_on` lists are resolved item by item through Outputs; a plain list of resources
#   (what this program passes) resolves to the same set directly.


async def _wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    manager = _get_rpc_manager()
    while True:
        while manager.rpcs:
            await asyncio.sleep(0)
            await manager.rpcs.pop()
        if manager.unhandled_exception is not None:
            raise manager.unhandled_exception.with_traceback(manager.exception_traceback)
        while await_all_outstanding_tasks:
            with SETTINGS.lock:
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            if not pending:
                break
            for result in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(result, BaseException):
                    raise result
        if not manager.rpcs:
            break


_DEPS = resource_cycle_breaker._DEPENDENCIES_PROPERTY


_DEPENDED_ON: set[int] = set()  # ids of resources some edge points to (reset per evaluation)


def _declare_dependency(from_resource, to_resource) -> bool:
    if id(from_resource) not in _DEPENDED_ON:
        _add_edge(from_resource, to_resource)
        return True
    seen: set[int] = set()
    todo = [to_resource]
    while todo:
        current = todo.pop()
        if current is from_resource:
            return False
        if id(current) in seen:
            continue
        seen.add(id(current))
        todo.extend(current.__dict__.get(_DEPS, ()))
    _add_edge(from_resource, to_resource)
    return True


def _add_edge(from_resource, to_resource) -> None:
    _DEPENDED_ON.add(id(to_resource))
    deps = from_resource.__dict__.get(_DEPS)
    if deps is None:
        setattr(from_resource, _DEPS, {to_resource})
    else:
        deps.add(to_resource)


async def _resolve_depends_on_urns(depends_on, from_resource=None) -> set[str]:
    if isinstance(depends_on, (list, tuple)) and all(isinstance(d, pulumi.Resource) for d in depends_on):
        return set((await rpc._expand_dependencies(set(depends_on), from_resource)).keys())
    return await _sdk_resolve_depends_on_urns(depends_on, from_resource)


_sdk_resolve_depends_on_urns = sdk_resource._resolve_depends_on_urns


def _known_urn(res) -> Optional[str]:
    """A registered resource's URN without a trip through the event loop; None when it is
    not resolved yet (the caller then awaits it as the SDK does)."""
    data = getattr(res.urn, "_data", None)
    if data is None or not data.done() or data.cancelled() or data.exception() is not None:
        return None
    value = data.result().value
    return None if value is None or rpc.contains_unknowns(value) else value


def _contains_unknowns(val: Any) -> bool:
    """rpc.contains_unknowns (pulumi 3.272.0 runtime/rpc.py) without its nested function: the SDK
    defines a recursive `impl` on every call, a function <-> cell reference cycle (with the
    annotation objects it makes) that only the garbage collector can free. About 31,000 calls
    per prod-azure evaluation left some 150,000 such objects, and collecting them was a third of
    the evaluation's CPU time. The same walk with the same answers: unknown anywhere in nested
    dicts and lists, each object visited once."""
    return _unknowns_in(val, set())


def _unknowns_in(val: Any, seen: set[int]) -> bool:
    if known_types.is_unknown(val):
        return True
    if id(val) in seen:
        return False
    seen.add(id(val))
    if isinstance(val, dict):
        return any(_unknowns_in(val[k], seen) for k in val)
    if isinstance(val, list):
        return any(_unknowns_in(x, seen) for x in val)
    return False


async def _expand_dependencies(deps, from_resource) -> dict[str, Any]:
    """rpc._expand_dependencies: custom resources as themselves, local components as their
    descendants (not through custom children), each edge through the cycle check."""
    expanded: dict[str, Any] = {}
    for dep in deps:
        todo, waiting = [dep], []
        while todo:
            res = todo.pop(0)
            if not isinstance(res, pulumi.Resource):
                raise TypeError(f"'depends_on' was passed a value {res} that was not a Resource.")
            if from_resource is not None and not rpc.declare_dependency(from_resource, res):
                if os.getenv(rpc.ERROR_ON_DEPENDENCY_CYCLES_VAR, "true").lower() != "true":
                    continue
                raise RuntimeError(
                    f"We have detected a circular dependency involving a resource of type {res._type} named {res._name}.\n"
                    "Please review any `depends_on`, `parent` or other dependency relationships between your resources "
                    "to ensure no cycles have been introduced in your program."
                )
            if isinstance(res, pulumi.ComponentResource) and not res._remote:
                todo.extend(res._childResources.copy())
            else:
                waiting.append(res)
        for res in waiting:
            urn = _known_urn(res)
            if urn is None:
                urn = await res.urn.future()
            if urn:
                expanded[urn] = res
    return expanded


_EMPTY_TRACE = sdk_resource.source_pb2.StackTrace()


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each submitted call on the calling thread and returns its finished future."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: B036 handed to the awaiting task, as a worker thread would
            future.set_exception(err)
        return future


def _drive(awaitable):
    """Await `awaitable` from synchronous code: step it directly while it does not wait;
    when it waits on a future, let the SDK pump the event loop until that future is done."""
    steps = awaitable.__await__()
    while True:
        try:
            waited = steps.send(None)
        except StopIteration as done:
            return done.value
        if waited is not None:
            waited._asyncio_future_blocking = False
            _sync_await(waited)


@contextlib.contextmanager
def _sdk_shortcuts(enabled: bool = True):
    if not enabled:
        yield
        return
    saved = (sdk_stack.wait_for_rpcs, rpc.declare_dependency, sdk_resource._get_stack_trace, sdk_resource._resolve_depends_on_urns,
             pulumi.log.debug, pulumi_mocks._sync_await, rpc._expand_dependencies, sdk_resource._expand_dependencies,
             rpc.contains_unknowns)
    rpc._expand_dependencies = sdk_resource._expand_dependencies = _expand_dependencies
    rpc.contains_unknowns = _contains_unknowns
    gc_was_enabled = gc.isenabled()
    gc.disable()
    loop = _ensure_event_loop()
    loop.set_default_executor(_InlineExecutor(max_workers=1))
    pulumi_mocks._sync_await = _drive
    pulumi.log.debug = lambda *args, **kwargs: None
    _DEPENDED_ON.clear()
    sdk_stack.wait_for_rpcs = _wait_for_rpcs
    rpc.declare_dependency = _declare_dependency
    sdk_resource._get_stack_trace = lambda: _EMPTY_TRACE
    sdk_resource._resolve_depends_on_urns = _resolve_depends_on_urns
    try:
        yield
    finally:
        (sdk_stack.wait_for_rpcs, rpc.declare_dependency, sdk_resource._get_stack_trace,
         sdk_resource._resolve_depends_on_urns, pulumi.log.debug, pulumi_mocks._sync_await, rpc._expand_dependencies,
         sdk_resource._expand_dependencies, rpc.contains_unknowns) = saved
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor())
        if gc_was_enabled:
            gc.enable()
        _DEPENDED_ON.clear()


def stack_file(stack: str, root: Path = ROOT_DIR) -> Path:
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def available_stacks(root: Path = ROOT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def project_defaults(root: Path = ROOT_DIR) -> dict[str, str]:
    """Defaults declared in Pulumi.yaml's typed `config:` block, as Pulumi would apply them."""
    return dict(_project_defaults((root / "Pulumi.yaml").read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=8)
def _project_defaults(text: str) -> dict[str, str]:
    # Parsed once per text (the preview, the tests and --compare read it for every stack);
    # callers get their own copy.
    project = yaml.safe_load(text)
    out: dict[str, str] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            full = key if ":" in key else f"{PROJECT}:{key}"
            out[full] = config_string(spec["default"], spec["default"])
    return out


def config_string(parsed: Any, text: Any = None) -> str:
    """A config value as Pulumi hands it to the program: structured values as JSON,
    booleans as true/false, other scalars as their text as written (`text`, else str())."""
    if isinstance(parsed, (dict, list)):
        return json.dumps(parsed, sort_keys=True)
    if isinstance(parsed, bool):
        return "true" if parsed else "false"
    return str(parsed if text is None else text)


class StackFileError(ValueError):
    """A stack file Pulumi itself would refuse. `problems`: one line each, starting with
    `:<line>: ` (the caller puts the file's path in front)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# Config namespaces a stack file may use besides the project's own: the providers the
# program uses (their settings, e.g. `aws:region`) and Pulumi's own.
OTHER_NAMESPACES = ("aws", "gcp", "azure-native", "kubernetes", "random", "pulumi")


def stack_name_and_file(stack: str, root: Path = ROOT_DIR) -> tuple[str, Path]:
    """A stack name (`dev-aws`) or a stack file's path (`some/dir/Pulumi.dev-aws.yaml`; a
    bare `Pulumi.dev-aws.yaml` not in the current directory is looked up in stacks/)."""
    if stack.endswith((".yaml", ".yml")):
        path = Path(stack)
        if not path.exists() and path.parent == Path(".") and (root / "stacks" / path.name).exists():
            path = root / "stacks" / path.name
        name = path.name.split(".", 1)[1].rsplit(".", 1)[0] if path.name.startswith("Pulumi.") else path.stem
        return name, path
    return stack, stack_file(stack, root)


def _duplicate_keys(node: yaml.Node) -> list[str]:
    """Duplicate keys in any mapping of the document (PyYAML keeps the last silently; Pulumi refuses)."""
    out: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    out.append(f":{key.start_mark.line + 1}: duplicate key {key.value!r} (first at line {seen[key.value]})")
                else:
                    seen[key.value] = key.start_mark.line + 1
            out.extend(_duplicate_keys(value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out.extend(_duplicate_keys(item))
    return out


def _key_problems(root_node: yaml.Node) -> list[str]:
    config = next((v for k, v in root_node.value if isinstance(k, yaml.ScalarNode) and k.value == "config"), None)
    if config is None:
        return [":1: no top-level 'config:' mapping; a stack file holds its settings under config: as ml-clusters:<key>"]
    if not isinstance(config, yaml.MappingNode):
        return [f":{config.start_mark.line + 1}: 'config:' must be a mapping of ml-clusters:<key> values"]
    out = []
    known = (PROJECT, *OTHER_NAMESPACES)
    for key, _ in config.value:
        text, line = str(key.value), key.start_mark.line + 1
        namespace, colon, name = text.partition(":")
        if not colon or not namespace or not name:
            out.append(f":{line}: key {text!r} has no namespace; write it as {PROJECT}:{text}")
        elif namespace not in known:
            hint = difflib.get_close_matches(namespace, known, n=1)
            maybe = f" (did you mean {hint[0]}:{name}?)" if hint else ""
            out.append(f":{line}: key {text!r}: unknown namespace {namespace!r}{maybe}; allowed: {', '.join(known)}")
    return out


def read_stack_config(stack: str, root: Path = ROOT_DIR) -> tuple[dict[str, str], list[str]]:
    """The flat config map Pulumi would hand the program for `stack` (a name or a stack
    file's path), and its secret keys. Raises yaml.YAMLError for a syntax error and
    StackFileError for what Pulumi refuses: duplicate keys, a missing `config:` mapping,
    keys without a namespace or with an unknown one."""
    _, path = stack_name_and_file(stack, root)
    text = path.read_text(encoding="utf-8")
    values, secret_keys = _parse_stack_file(text, project_defaults(root))
    return dict(values), list(secret_keys)


@functools.lru_cache(maxsize=64)
def _stack_file_cached(text: str, defaults: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], list[str]]:
    return _parse_stack_text(text, dict(defaults))


def _parse_stack_file(text: str, defaults: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """A stack file's text parsed once per text and project defaults (YAML parsing in pure
    Python is slow, and the preview, --compare and the tests read the same files many times)."""
    return _stack_file_cached(text, tuple(sorted(defaults.items())))


def _parse_stack_text(text: str, values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    document = yaml.compose(text)
    if document is None or not isinstance(document, yaml.MappingNode):
        raise StackFileError([":1: no top-level 'config:' mapping; a stack file holds its settings under config: as ml-clusters:<key>"])
    problems = _duplicate_keys(document) + _key_problems(document)
    if problems:
        raise StackFileError(problems)
    parsed = yaml.safe_load(text) or {}
    as_text = yaml.load(text, Loader=yaml.BaseLoader) or {}  # scalars exactly as written
    secret_keys = []
    for key, value in (parsed.get("config") or {}).items():
        full = key
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.append(full)
            values[full] = "[secure]"
            continue
        values[full] = config_string(value, as_text["config"][key])
    return values, secret_keys


def evaluate(
    stack: str,
    build: Callable[[], Any],
    config: Optional[dict[str, str]] = None,
    secret_keys: Optional[list[str]] = None,
    plan: Optional[Plan] = None,
    shortcuts: bool = True,
) -> Plan:
    """Run `build` as a Pulumi program under the mock engine and return what it registered.
    Raises what `build` raises after the runtime has been cleaned up; pass `plan` to see
    what was registered before that. `shortcuts=False` runs the SDK's own internals."""
    plan = plan if plan is not None else Plan(stack=stack, project=PROJECT)
    monitor = RecordingMonitor(PlanMocks(config), plan)
    monitor.fast = shortcuts
    logger = logging.getLogger(f"ml-clusters.preview.{stack}")
    logger.propagate = False
    logger.handlers = [_WarningCollector(plan)]
    settings = pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pulumi_mocks.MockEngine(logger),
        project=PROJECT,
        stack=stack,
        dry_run=False,
        organization="organization",
        callbacks=None,
    )
    configure(settings)
    ROOT.set(None)
    set_all_config(config or {}, secret_keys or [])
    try:
        with _sdk_shortcuts(shortcuts):
            _sync_await(run_in_stack(build))
    finally:
        ROOT.set(None)
    plan.resources.sort(key=lambda r: r.urn)
    return plan


def run_program(
    stack: str,
    config: dict[str, str],
    secret_keys: Optional[list[str]] = None,
    program: Path = ROOT_DIR / "__main__.py",
    plan: Optional[Plan] = None,
    shortcuts: bool = True,
) -> Plan:
    """Evaluate `program` (the project's `__main__.py`) for a stack's flat config."""
    mark_offline_preview()  # the program then knows it is not a real deployment
    root = str(program.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return evaluate(stack, lambda: runpy.run_path(str(program), run_name="__main__"), config, secret_keys, plan, shortcuts)
    finally:
        os.chdir(cwd)
