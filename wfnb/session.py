"""One notebook's workflow: runs a step end to end, from its key to its status line.

A step is looked up by its key; a hit restores what the step produced (names,
in-place changes to its inputs, deleted names, and everything it showed) without
running it; a miss runs the cell as a plain cell would, under capture, then
stores its outputs and writes the step record: the one commit point.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb import capture
from wfnb.analysis import CellAnalysis, analyze_cell
from wfnb.errors import BadArgument, CorruptObject, StepFailed, StoreError, UnhashableValue, UnstorableValue, WfnbError
from wfnb.files import expand_deps
from wfnb.fingerprint import ABSENT, Fingerprint, fingerprint_step
from wfnb.hashing import hash_value
from wfnb.rebinding import rebind
from wfnb.report import StepReport
from wfnb.saving import SaveTarget, write_output
from wfnb.store import Store, open_store

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

RECORD_FORMAT_VERSION = 1  # bump when a record's fields change meaning
_DEFAULT_WORKFLOW = "notebook"
# Names IPython itself binds while running a cell (output cache, input history).
_SHELL_NAMES = re.compile(r"_+|_\d+|_i+|_i\d+|_[iod]h|In|Out|exit|quit|get_ipython")


@dataclass(frozen=True)
class StepOptions:
    """What ``%%step`` was asked to do, already checked by the magic."""

    name: str
    force: bool = False
    no_cache: bool = False
    deps: tuple[str, ...] = ()
    saves: tuple[SaveTarget, ...] = ()


@dataclass
class _Outcome:
    """What one execution of a step produced, as the report and the run log need it."""

    outputs: dict[str, Any] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    mutated: list[str] = field(default_factory=list)


class Session:
    """The workflow state of one IPython shell."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell
        self._store_location: str | None = None
        self._store: Store | None = None
        self._workflow: str | None = None
        self._latest: dict[str, dict[str, Any]] = {}  # step name → its latest record
        self._warned_dynamic: set[str] = set()

    # -- configuration ----------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self._store_location)
        return self._store

    def use_store(self, location: str) -> Store:
        """Switch to another store (``%wfnb store PATH``); opened now, so a bad path fails here."""
        store = open_store(location)
        self._store_location, self._store = location, store
        return store

    @property
    def workflow(self) -> str:
        if self._workflow is None:
            self._workflow = _workflow_from_notebook(self.shell.user_ns)
        return self._workflow

    def use_workflow(self, name: str) -> None:
        self._workflow = name

    # -- running a step ---------------------------------------------------

    def run_step(self, options: StepOptions, body: str) -> None:
        """Run ``body`` as step ``options.name``: restore it from the store or run and store it."""
        _drive(self.run_step_async(options, body, asynchronous=False))

    async def run_step_async(self, options: StepOptions, body: str, asynchronous: bool = True) -> None:
        """The same, for a body with top-level ``await``: it runs on the kernel's own event loop."""
        report = StepReport(options.name, started=_now(), clock=time.perf_counter())
        try:
            analysis = analyze_cell(self.shell.transform_cell(body))
        except SyntaxError:
            await self._run_cell(body, report, asynchronous)  # shows the SyntaxError as a plain cell would
            return
        deps = expand_deps(list(options.deps))
        namespace = self.shell.user_ns
        fingerprint, uncacheable = self._fingerprint(options.name, analysis, namespace, deps)
        if fingerprint is not None and uncacheable is None and not (options.force or options.no_cache):
            if self._restore(options, fingerprint, report):
                return
        await self._run_and_store(options, body, analysis, fingerprint, uncacheable, report, asynchronous)

    def _fingerprint(
        self, step: str, analysis: CellAnalysis, namespace: dict[str, Any], deps: list[str]
    ) -> tuple[Fingerprint | None, str | None]:
        """The step's key, or why it cannot be trusted (then the step always runs)."""
        try:
            fingerprint = fingerprint_step(analysis, namespace, deps)
        except UnhashableValue as error:
            return None, str(error)
        if analysis.dynamic:
            calls = ", ".join(analysis.dynamic)
            if step not in self._warned_dynamic:
                self._warned_dynamic.add(step)
                _warn(
                    f"step {step} calls {calls}, so wfnb cannot see every name it reads; it runs every time "
                    "and is never restored from the cache. Use the names directly to make it cacheable."
                )
            return fingerprint, f"it calls {calls}"
        return fingerprint, None

    def _restore(self, options: StepOptions, fingerprint: Fingerprint, report: StepReport) -> bool:
        """Put a stored result back as if the step had run; False when there is none to trust."""
        store = self.store
        try:
            record = store.read_record(fingerprint.key)
            if record is None:
                return False
            values = {name: store.get_object(d) for name, d in record["outputs"].items()}
            events = store.get_json(record["display"])
        except (CorruptObject, StoreError, KeyError, TypeError) as error:
            _warn(f"{error} Step {options.name} runs again instead of loading it.")
            return False
        namespace = self.shell.user_ns
        for name in record.get("deleted", []):
            namespace.pop(name, None)
        for name, value in values.items():
            namespace[name] = rebind(value, namespace)
        for name, source in record.get("aliases", {}).items():
            namespace[name] = namespace[source]
        capture.replay(self.shell, events)
        restored = sorted([*values, *record.get("aliases", {})])
        self._save_outputs(options, namespace, fingerprint, only_missing=True)
        self._remember(options.name, record)
        report.cached(restored)
        self._log(report, fingerprint.key, cached=True, outputs=restored)
        report.show(self.shell)
        return True

    async def _run_and_store(
        self,
        options: StepOptions,
        body: str,
        analysis: CellAnalysis,
        fingerprint: Fingerprint | None,
        uncacheable: str | None,
        report: StepReport,
        asynchronous: bool,
    ) -> None:
        namespace = self.shell.user_ns
        before = {name: id(value) for name, value in namespace.items()}
        with capture.capture(self.shell) as events:
            await self._run_cell(body, report, asynchronous, key=fingerprint.key if fingerprint else None)
        report.ran(_reasons(options, fingerprint, self._latest.get(options.name)))
        outcome = self._outcome(analysis, fingerprint, before)
        self._save_outputs(options, namespace, fingerprint, only_missing=False)
        if fingerprint is None or uncacheable is not None:
            report.uncacheable(uncacheable or "its inputs cannot be hashed")
            self._log(report, fingerprint.key if fingerprint else "", cached=False, outputs=sorted(outcome.outputs))
            report.show(self.shell)
            return
        record = self._store_outcome(options, body, fingerprint, outcome, events, report)
        if record is not None:
            self._remember(options.name, record)
        self._log(report, fingerprint.key, cached=False, outputs=sorted(outcome.outputs))
        report.show(self.shell)

    async def _run_cell(self, body: str, report: StepReport, asynchronous: bool, key: str | None = None) -> None:
        """Run the body as a plain cell would, so the user sees their own traceback."""
        if asynchronous:
            transformed = self.shell.transform_cell(body)
            result = await self.shell.run_cell_async(body, store_history=False, transformed_cell=transformed)
        else:
            result = self.shell.run_cell(body, store_history=False)
        if result.success:
            return
        error = result.error_before_exec or result.error_in_exec
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        report.failed(detail)
        self._log(report, key or "", cached=False, outputs=[], error=detail)
        raise StepFailed(f"step {report.step} failed ({detail}); nothing was cached. Fix the cell and run it again.")

    def _outcome(self, analysis: CellAnalysis, fingerprint: Fingerprint | None, before: dict[str, int]) -> _Outcome:
        """Which names the run bound, changed in place or deleted."""
        namespace = self.shell.user_ns
        rebound = {name for name, value in namespace.items() if before.get(name) != id(value)}
        names = {n for n in (analysis.binds | rebound) if n in namespace and not _SHELL_NAMES.fullmatch(n)}
        gone = (set(before) | analysis.deletes) - set(namespace)
        outcome = _Outcome(deleted=sorted(n for n in gone if not _SHELL_NAMES.fullmatch(n)))
        if fingerprint is not None:
            for name, digest in fingerprint.inputs.items():
                if digest == ABSENT or name in names or name not in namespace:
                    continue
                try:
                    changed = hash_value(namespace[name]) != digest
                except UnhashableValue:
                    changed = True
                if changed:
                    outcome.mutated.append(name)
                    names.add(name)
        outcome.outputs = {name: namespace[name] for name in sorted(names)}
        return outcome

    def _store_outcome(
        self,
        options: StepOptions,
        body: str,
        fingerprint: Fingerprint,
        outcome: _Outcome,
        events: list[capture.Event],
        report: StepReport,
    ) -> dict[str, Any] | None:
        """Write the values, then the record (the commit point). None when something cannot be stored."""
        store = self.store
        aliases = _aliases(outcome.outputs, fingerprint, self.shell.user_ns)
        encoded, problems = {}, {}
        for name, value in outcome.outputs.items():
            if name in aliases:
                continue
            try:
                encoded[name] = (hash_value(value), store.encode(value))
            except (UnhashableValue, UnstorableValue) as error:
                problems[name] = str(error)
        if problems:
            report.not_cached(problems)
            _warn(report.unstorable_warning(problems))
            return None
        written = sum(store.put_object(digest, data) for digest, data in encoded.values())
        total = sum(store.object_size(digest) for digest, _ in encoded.values())
        record = {
            "record_format": RECORD_FORMAT_VERSION,
            "key": fingerprint.key,
            "workflow": self.workflow,
            "step": options.name,
            "code": body,
            "code_hash": fingerprint.code,
            "inputs": fingerprint.inputs,
            "files": fingerprint.files,
            "modules": fingerprint.modules,
            "outputs": {name: digest for name, (digest, _) in encoded.items()},
            "aliases": aliases,
            "mutated": outcome.mutated,
            "deleted": outcome.deleted,
            "display": store.put_json(events),
            "started": report.started,
            "duration_s": report.elapsed(),
            "stored_bytes": total,
        }
        store.commit_record(fingerprint.key, record)
        report.stored(len(outcome.outputs), total, written)
        return record

    def _save_outputs(
        self, options: StepOptions, namespace: dict[str, Any], fingerprint: Fingerprint | None, only_missing: bool
    ) -> None:
        params = {name: namespace[name] for name in (fingerprint.inputs if fingerprint else {}) if _is_param(namespace.get(name))}
        for target in options.saves:
            path = target.path(params)
            if only_missing and path.exists():
                continue
            if target.name not in namespace:
                raise BadArgument(
                    f"--save {target.name}={target.template}: the step did not define {target.name!r}, "
                    "so there is nothing to write. Check the name."
                )
            write_output(namespace[target.name], path)

    def _remember(self, step: str, record: dict[str, Any]) -> None:
        self._latest[step] = record

    def _log(self, report: StepReport, key: str, *, cached: bool, outputs: list[str], error: str | None = None) -> None:
        try:
            self.store.log_run(
                {
                    "workflow": self.workflow,
                    "step": report.step,
                    "key": key,
                    "cached": cached,
                    "started": report.started,
                    "duration_s": report.elapsed(),
                    "outputs": outputs,
                    "error": error,
                }
            )
        except WfnbError as failure:
            _warn(f"the run of step {report.step} could not be logged: {failure}")


def _aliases(outputs: dict[str, Any], fingerprint: Fingerprint, namespace: dict[str, Any]) -> dict[str, str]:
    """Outputs that are the very same object as an input or an earlier output: restored as such."""
    owners: dict[int, str] = {}
    for name in sorted(fingerprint.inputs):
        if fingerprint.inputs[name] != ABSENT and name in namespace and name not in outputs:
            owners.setdefault(id(namespace[name]), name)
    aliases = {}
    for name, value in outputs.items():
        owner = owners.get(id(value))
        if owner is None:
            owners[id(value)] = name
        else:
            aliases[name] = owner
    return aliases


def _reasons(options: StepOptions, fingerprint: Fingerprint | None, latest: dict[str, Any] | None) -> list[str]:
    if options.force:
        return ["forced"]
    if options.no_cache:
        return ["--no-cache"]
    if fingerprint is None or latest is None:
        return []
    return fingerprint.changes_from(latest)


def _is_param(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _workflow_from_notebook(namespace: dict[str, Any]) -> str:
    """The notebook's file stem, from what Jupyter tells the kernel; a fixed name otherwise."""
    for candidate in (namespace.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate:
            stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(candidate).stem)
            if stem.strip("."):
                return stem
    return _DEFAULT_WORKFLOW


def _drive(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (no await reaches an event loop) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a synchronous step suspended; this is a bug in wfnb")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _warn(message: str) -> None:
    print(f"wfnb: {message}", file=sys.stderr, flush=True)


_current: Session | None = None


def current_session() -> Session | None:
    """The session of the shell that loaded the extension, if any (for the Python API)."""
    return _current


def start_session(shell: InteractiveShell) -> Session:
    """Create the session for ``shell`` and make it the current one."""
    global _current
    _current = Session(shell)
    return _current


def resolve_store(store: Store | str | os.PathLike | None, *, create: bool = True) -> Store:
    """A store from what a Python API caller gave: a Store, a location, or None for the current one."""
    if isinstance(store, Store):
        return store
    if store is None and _current is not None:
        return _current.store
    return open_store(store, create=create)
