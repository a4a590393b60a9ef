"""Run one step end to end, wherever its code runs: the notebook's shell or a plain namespace.

The key decides: a hit restores what the step produced (names, in-place
changes to its inputs, deleted names, metrics, and everything it showed)
without running it; a miss runs the code as a plain cell would, under capture,
stores its outputs and writes the step record: the one commit point.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from wfnb import metrics
from wfnb.analysis import CellAnalysis, analyze_cell
from wfnb.errors import BadArgument, CorruptObject, StepFailed, StoreError, UnhashableValue, UnstorableValue, WfnbError
from wfnb.files import expand_deps
from wfnb.fingerprint import ABSENT, Fingerprint, fingerprint_step
from wfnb.hashing import hash_value
from wfnb.hosts import Host
from wfnb.rebinding import rebind
from wfnb.report import StepReport
from wfnb.saving import SaveTarget, write_output
from wfnb.store import Store
from wfnb.store.codecs import Encoded, decode_encoded

RECORD_FORMAT_VERSION = 1  # bump when a record's fields change meaning
_ROUND_TRIP_LIMIT = 64 << 20  # pickled values above this are not checked for a lossy round trip
_REMEMBERED = 256  # cell analyses and captured outputs kept in memory, for fast repeated hits
# Names IPython itself binds while running a cell (output cache, input history).
_SHELL_NAMES = re.compile(r"_+|_\d+|_i+|_i\d+|_[iod]h|In|Out|exit|quit|get_ipython|__builtins?__")


@dataclass(frozen=True)
class StepOptions:
    """What ``%%step`` was asked to do, already checked by the magic."""

    name: str
    force: bool = False
    no_cache: bool = False
    deps: tuple[str, ...] = ()
    saves: tuple[SaveTarget, ...] = ()


@dataclass(frozen=True)
class StepResult:
    """How a step ended: the record now in use (None if none could be written) and whether it was a hit."""

    record: dict[str, Any] | None
    cached: bool
    report: StepReport


@dataclass
class _Outcome:
    """What one execution of a step produced."""

    outputs: dict[str, Any] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    mutated: list[str] = field(default_factory=list)


class StepRunner:
    """Runs steps of one workflow against one store, through a host that executes and shows."""

    def __init__(self, store: Store, workflow: str, host: Host) -> None:
        self.store = store
        self.workflow = workflow
        self.host = host
        self._warned_dynamic: set[str] = set()
        self._warned_unstorable: set[tuple[str, ...]] = set()  # (step, names): the warning is said once
        self._analyses: dict[str, CellAnalysis] = {}  # least recently used first
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._records: dict[str, dict[str, Any]] = {}

    async def run(
        self,
        options: StepOptions,
        body: str,
        *,
        params: Mapping[str, Any] | None = None,
        previous: Mapping[str, Any] | None = None,
        asynchronous: bool = False,
    ) -> StepResult:
        """Run ``body`` as step ``options.name``; ``previous`` is the step's last record, to explain a miss.

        Raises StepFailed (the user's traceback was shown) or another WfnbError.
        """
        report = StepReport(options.name, started=_now(), clock=time.perf_counter())
        try:
            analysis = self._analysis(body)
        except SyntaxError:
            await self._execute(body, report, asynchronous, key="")  # shows the SyntaxError; raises
            return StepResult(None, False, report)
        deps = expand_deps(list(options.deps))
        namespace = self.host.namespace
        fingerprint, uncacheable = self._fingerprint(options.name, analysis, namespace, deps)
        if fingerprint is not None and uncacheable is None and not (options.force or options.no_cache):
            record = self._restore(options, fingerprint, report, params or {})
            if record is not None:
                return StepResult(record, True, report)
        record = await self._run_and_store(
            options, body, analysis, fingerprint, uncacheable, report, params or {}, previous, asynchronous
        )
        return StepResult(record, False, report)

    # -- the key ------------------------------------------------------------

    def _analysis(self, body: str) -> CellAnalysis:
        """What the cell reads and binds: a pure function of its text, kept for the cells seen last."""
        return _remembered(self._analyses, body, lambda: analyze_cell(self.host.transform(body)))

    def _display_events(self, digest: str) -> list[dict[str, Any]]:
        """A record's captured output, by its content hash: immutable, so kept once read."""
        return _remembered(self._events, digest, lambda: self.store.get_json(digest))

    def _record(self, key: str) -> dict[str, Any] | None:
        """The committed record of a key. Kept once read: any complete record of a key is a valid
        result for it, and this process's own commits replace the kept one."""
        record = self._records.get(key) or self.store.read_record(key)
        return None if record is None else _remembered(self._records, key, lambda: record)

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
                self.host.warn(
                    f"step {step} calls {calls}, so wfnb cannot see every name it reads; it runs every time "
                    "and is never restored from the cache. Use the names directly to make it cacheable."
                )
            return fingerprint, f"it calls {calls}"
        return fingerprint, None

    # -- a hit --------------------------------------------------------------

    def _restore(
        self, options: StepOptions, fingerprint: Fingerprint, report: StepReport, params: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Put a stored result back as if the step had run; None when there is none to trust."""
        store = self.store
        try:
            record = self._record(fingerprint.key)
            if record is None or not record.get("restorable", True):
                report.missed = "its values could not be stored last time" if record is not None else ""
                return None
            values = load_values(store, record)
            events = self._display_events(record["display"])
        except (CorruptObject, StoreError, KeyError, TypeError) as error:
            self.host.warn(f"{error} Step {options.name} runs again instead of loading it.")
            report.missed = "its stored result was damaged"
            return None
        namespace = self.host.namespace
        apply_values(namespace, record, values, adopt_globals=self.host.fresh)
        self.host.replay(events)
        restored = sorted([*values, *record.get("aliases", {})])
        self._save_outputs(options, namespace, fingerprint, only_missing=True)
        report.cached(restored)
        self._log(report, fingerprint.key, cached=True, outputs=restored)
        return record

    # -- a miss -------------------------------------------------------------

    async def _run_and_store(
        self,
        options: StepOptions,
        body: str,
        analysis: CellAnalysis,
        fingerprint: Fingerprint | None,
        uncacheable: str | None,
        report: StepReport,
        params: Mapping[str, Any],
        previous: Mapping[str, Any] | None,
        asynchronous: bool,
    ) -> dict[str, Any] | None:
        namespace = self.host.namespace
        stored_inputs = self._store_inputs(fingerprint) if fingerprint is not None else {}
        before = {name: id(value) for name, value in namespace.items()}
        with self.host.capture() as events, metrics.collecting(options.name) as logged:
            await self._execute(body, report, asynchronous, key=fingerprint.key if fingerprint else "")
        report.ran([report.missed] if report.missed else _reasons(options, fingerprint, previous))
        outcome = self._outcome(analysis, fingerprint, before)
        self._save_outputs(options, namespace, fingerprint, only_missing=False)
        if fingerprint is None:
            report.uncacheable(uncacheable or "its inputs cannot be hashed")
            self._log(report, "", cached=False, outputs=sorted(outcome.outputs))
            return None
        record = self._store_outcome(
            options, body, fingerprint, outcome, events, report, dict(logged), params, stored_inputs, uncacheable
        )
        self._log(report, fingerprint.key, cached=False, outputs=sorted(outcome.outputs))
        return record

    async def _execute(self, body: str, report: StepReport, asynchronous: bool, key: str) -> None:
        """Run the body as a plain cell would, so the user sees their own traceback."""
        error = await self.host.execute(body, asynchronous, report.step)
        if error is None:
            return
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        report.failed(detail)
        self._log(report, key, cached=False, outputs=[], error=detail)
        # chained, so that a caller that shows no stream (the browser's replay) can show the user's traceback
        raise StepFailed(f"step {report.step} failed ({detail}); nothing was cached. Fix the cell and run it again.") from error

    def _store_inputs(self, fingerprint: Fingerprint) -> list[str]:
        """Keep the step's input values (once per value) so that a replay can start from them."""
        namespace = self.host.namespace
        stored = []
        for name, digest in fingerprint.inputs.items():
            if digest == ABSENT or name not in namespace:
                continue
            try:
                if not self.store.has_object(digest):
                    self.store.put_object(digest, self.store.encode(namespace[name]))
                stored.append(name)
            except UnstorableValue:
                continue  # a replay of this step will need the value from elsewhere
        return stored

    def _outcome(self, analysis: CellAnalysis, fingerprint: Fingerprint | None, before: dict[str, int]) -> _Outcome:
        """Which names the run bound, changed in place or deleted."""
        namespace = self.host.namespace
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
        events: list[dict[str, Any]],
        report: StepReport,
        logged: dict[str, Any],
        params: Mapping[str, Any],
        stored_inputs: list[str],
        uncacheable: str | None,
    ) -> dict[str, Any]:
        """Write the values, then the record (the commit point).

        A step whose outputs cannot all be stored still gets a record (its code,
        inputs and metrics belong to the workflow's history), marked as not
        restorable so that the cache never half-restores it.
        """
        store = self.store
        aliases = _aliases(outcome.outputs, fingerprint, self.host.namespace)
        encoded, problems = {}, {}
        for name, value in outcome.outputs.items():
            if name in aliases:
                continue
            try:
                data = store.encode(value)
                encoded[name] = (self._digest_as_restored(name, value, data), data)
            except (UnhashableValue, UnstorableValue) as error:
                problems[name] = str(error)
        if problems:
            report.not_cached(problems)
            if (options.name, *sorted(problems)) not in self._warned_unstorable:
                self._warned_unstorable.add((options.name, *sorted(problems)))
                self.host.warn(report.unstorable_warning(problems))
            encoded = {}
        elif uncacheable is not None:
            report.uncacheable(uncacheable)
        written = sum(store.put_object(digest, data) for digest, data in encoded.values())
        total = sum(store.object_size(digest) for digest, _ in encoded.values())
        record = {
            "record_format": RECORD_FORMAT_VERSION,
            "key": fingerprint.key,
            "restorable": not problems and uncacheable is None,
            "workflow": self.workflow,
            "step": options.name,
            "code": body,
            "code_hash": fingerprint.code,
            "inputs": fingerprint.inputs,
            "stored_inputs": stored_inputs,
            "files": fingerprint.files,
            "deps": list(options.deps),
            "modules": fingerprint.modules,
            "params": {name: params[name] for name in fingerprint.inputs if name in params},
            "outputs": {name: digest for name, (digest, _) in encoded.items()},
            "unstored": sorted(problems),
            "aliases": {} if problems else aliases,
            "mutated": outcome.mutated,
            "deleted": outcome.deleted,
            "metrics": logged,
            "display": store.put_json(events),
            "started": report.started,
            "duration_s": report.elapsed(),
            "stored_bytes": total,
        }
        if problems and store.read_record(fingerprint.key) is not None:
            return record  # never replace a restorable entry with one that is not
        store.commit_record(fingerprint.key, record)
        self._records[fingerprint.key] = record
        if record["restorable"]:
            report.stored(len(outcome.outputs), total, written)
        return record

    def _digest_as_restored(self, name: str, value: Any, data: Encoded) -> str:
        """The hash of ``value`` as a restore will give it back.

        A few types lose state in a pickle round trip (scikit-learn's ``Bunch``
        forgets its attributes). Their restored copy hashes differently, and
        the steps that read it would never be hits after a restart. For pickled
        values of types not known to round-trip exactly (and not too big to
        check), the restored copy is made now and, if it differs, it becomes
        the step's output here too: this kernel then holds what any later
        restore gives.
        """
        digest = hash_value(value)
        if data.codec != "pickle" or _round_trips_exactly(value) or data.payload_size > _ROUND_TRIP_LIMIT:
            return digest
        try:
            restored = decode_encoded(data)
            restored_digest = hash_value(restored)
        except Exception:  # noqa: BLE001 - any failure here means: keep the value as it is
            return digest
        if restored_digest != digest:
            self.host.namespace[name] = restored
        return restored_digest

    # -- around the step ----------------------------------------------------

    def _save_outputs(
        self, options: StepOptions, namespace: dict[str, Any], fingerprint: Fingerprint | None, only_missing: bool
    ) -> None:
        inputs = fingerprint.inputs if fingerprint else {}
        params = {name: namespace[name] for name in inputs if _is_scalar(namespace.get(name))}
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
            self.host.warn(f"the run of step {report.step} could not be logged: {failure}")


def load_values(store: Store, record: Mapping[str, Any]) -> dict[str, Any]:
    """Every stored output value of a record, by name. Raises CorruptObject."""
    return {name: store.get_object(digest) for name, digest in record["outputs"].items()}


def apply_values(
    namespace: dict[str, Any], record: Mapping[str, Any], values: Mapping[str, Any], *, adopt_globals: bool = False
) -> None:
    """Leave ``namespace`` as the record's step left it: deletions, values, aliases."""
    for name in record.get("deleted", []):
        namespace.pop(name, None)
    for name, value in values.items():
        namespace[name] = rebind(value, namespace, adopt_globals=adopt_globals)
    for name, source in record.get("aliases", {}).items():
        if source in namespace:
            namespace[name] = namespace[source]


def _remembered(memo: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """``memo[key]``, made if missing; the memo keeps the ``_REMEMBERED`` most recently used."""
    value = memo.pop(key) if key in memo else make()
    memo[key] = value
    while len(memo) > _REMEMBERED:
        memo.pop(next(iter(memo)))
    return value


def run_sync(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (no await reaches an event loop) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a synchronous step suspended; this is a bug in wfnb")


def output_digests(record: Mapping[str, Any]) -> dict[str, str]:
    """Every name a record's step produced, with the hash of its value (aliases resolved)."""
    digests = dict(record.get("outputs", {}))
    for name, source in record.get("aliases", {}).items():
        digests[name] = digests.get(source) or record.get("inputs", {}).get(source, ABSENT)
    return digests


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


def _reasons(options: StepOptions, fingerprint: Fingerprint | None, previous: Mapping[str, Any] | None) -> list[str]:
    if options.force:
        return ["forced"]
    if options.no_cache:
        return ["--no-cache"]
    if fingerprint is None or previous is None:
        return []
    return fingerprint.changes_from(previous)


def _round_trips_exactly(value: Any) -> bool:
    """Types whose pickle round trip is known to be exact (the big ones: checking them would cost)."""
    module = type(value).__module__.partition(".")[0]
    return module in ("pandas", "numpy", "pyarrow", "builtins")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
