"""Run one step end to end, wherever its code runs: the notebook's shell or a plain namespace.

The key finds a candidate result and its verified trace decides: a hit restores
what the step left behind (names, in-place changes to its inputs, deleted names,
changes to the process such as a seed or an option, metrics, and everything it
showed) without running it; a miss runs the code as a plain cell would, watched
and under capture, stores its outputs as one object graph and writes the step
record: the one commit point.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from wfnb.cache import branches, capture, evidence, metrics, probes, stepvalues, tracing
from wfnb.cache.cellcode import CellAnalysis, analyze_cell
from wfnb.cache.effects import (
    ProcessUndo,
    before_effects,
    import_again,
    is_module,
    note_edited_modules,
    reimports,
    replay_before,
)
from wfnb.cache.entries import (
    Entries,
    Lookup,
    hit_decision,
    nondeterministic_note,
    remembered,
)
from wfnb.cache.execution import Host
from wfnb.cache.files import expand_deps
from wfnb.cache.fingerprint import ABSENT, Fingerprint, fingerprint_step
from wfnb.cache.hashing import hash_value
from wfnb.cache.inplace import class_state
from wfnb.cache.objectgraph import LiveIndex, axes
from wfnb.cache.rebinding import rebind
from wfnb.cache.saving import write_output
from wfnb.cache.statusline import StepReport
from wfnb.cache.stepline import StepOptions
from wfnb.cache.stepvalues import StepValues, output_digests
from wfnb.errors import (
    BadArgument,
    CorruptObject,
    StepFailed,
    StepInterrupted,
    StepNotStored,
    StoreError,
    UnhashableValue,
    UnstorableValue,
    WfnbError,
)
from wfnb.store import Store

RECORD_FORMAT_VERSION = 2  # bump when a record's fields change meaning (2: one object graph, a trace)
_ALTERNATIVES = 3  # earlier results of the same key kept, each with its own trace
_ROUND_TRIP_LIMIT = 64 << 20  # pickled values above this are not checked for a lossy round trip
# Names IPython itself binds while running a cell (output cache, input history).
# Dunder names (__warningregistry__, __builtins__) are the interpreter's bookkeeping, not results.
_SHELL_NAMES = re.compile(r"_+|_\d+|_i+|_i\d+|_[iod]h|In|Out|exit|quit|get_ipython|__\w+__")

__all__ = ["StepResult", "StepRunner", "output_digests", "run_sync"]


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
        self.entries = Entries(store, host.warn)

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
            analysis: CellAnalysis | None = self._analysis(body)
        except SyntaxError:
            analysis = None
        if analysis is None:  # outside the handler: the user's SyntaxError is shown alone, not as raised during ours
            await self._execute(body, report, asynchronous, key="")  # shows the SyntaxError; raises
            return StepResult(None, False, report)
        deps = expand_deps(list(options.deps))
        namespace = self.host.namespace
        fingerprint, uncacheable = self._fingerprint(options.name, analysis, namespace, deps)
        lookup = Lookup()
        if fingerprint is not None and uncacheable is None and not (options.force or options.no_cache):
            lookup = self.entries.verified(fingerprint, self.host.namespace)
            if lookup.record is not None and self._restore(options, fingerprint, lookup, report):
                return StepResult(lookup.record, True, report)
            if lookup.record is not None:
                lookup = Lookup(why="its stored result was damaged", against=lookup.record)
        record = await self._run_and_store(
            options, body, analysis, fingerprint, uncacheable, report, params or {}, previous, asynchronous, lookup
        )
        return StepResult(record, False, report)

    # -- the key and the trace ------------------------------------------------

    def _analysis(self, body: str) -> CellAnalysis:
        """What the cell reads and binds: a pure function of its text, kept for the cells seen last."""
        return remembered(self._analyses, body, lambda: analyze_cell(self.host.transform(body)))

    def _fingerprint(
        self, step: str, analysis: CellAnalysis, namespace: dict[str, Any], deps: list[str]
    ) -> tuple[Fingerprint | None, str | None]:
        """The step's key, or why it cannot be trusted (then the step always runs)."""
        try:
            fingerprint = fingerprint_step(analysis, namespace, deps)
        except UnhashableValue as error:
            return None, str(error)
        except Exception as error:  # noqa: BLE001 - a value's own code failed while its inputs were read
            return None, f"its inputs could not be read ({type(error).__name__}: {error})"
        hidden = list(analysis.dynamic) + list(fingerprint.untraceable)
        if analysis.programs:
            return fingerprint, f"it runs a program ({analysis.programs[0]})"
        clock = list(analysis.clock) + list(fingerprint.clock)
        if clock:  # a name made from the date must be new on every run, or a later step overwrites an earlier run
            return fingerprint, f"it reads the clock ({clock[0]})"
        if fingerprint.memoized:  # what the cached answers were read from is in another step's trace, not this one's
            return fingerprint, fingerprint.memoized[0]
        if hidden:
            what = ", ".join(hidden)
            if step not in self._warned_dynamic:
                self._warned_dynamic.add(step)
                self.host.warn(
                    f"step {step} uses {what}, so wfnb cannot see every name it reads; it runs every time "
                    "and is never restored from the cache. Use the names directly to make it cacheable."
                )
            return fingerprint, f"it uses {what}"
        return fingerprint, None

    # -- a hit --------------------------------------------------------------

    def _restore(self, options: StepOptions, fingerprint: Fingerprint, lookup: Lookup, report: StepReport) -> bool:
        """Put a stored result back as if the step had run; False when it cannot be read."""
        record = lookup.record
        assert record is not None
        namespace = self.host.namespace
        before = record.get("before") or {}
        undo = ProcessUndo.now() if any(before.values()) else None
        try:
            if undo is not None:
                replay_before(before)
            held = stepvalues.held_outputs(record, namespace)
            values = stepvalues.read(self.store, record, stepvalues.namespace_resolver(namespace), held)
            events = self.entries.blob(record["display"])
        except Exception as error:  # noqa: BLE001 - whatever fails in a load, the step runs instead
            if undo is not None:
                undo.apply()
            detail = error if isinstance(error, WfnbError) else f"A stored value of step {options.name} cannot be put back ({type(error).__name__}: {error})."
            self.host.warn(f"{detail} Step {options.name} runs again instead of loading it.")
            return False
        stepvalues.apply(namespace, record, values, adopt_globals=self.host.fresh)
        import_again(record.get("imports", []))
        self.host.replay(events)
        restored = sorted([*values.outputs, *values.changed, *values.classes, *record.get("aliases", {})])
        restored = [name for name in restored if not is_module(namespace.get(name))]  # `import numpy as np` is no result
        self._save_outputs(options, namespace, fingerprint, only_missing=True)
        report.cached(restored)
        if record.get("nondeterministic"):  # a check ran it again and got other outputs (wfnb.history.determinism)
            report.note(nondeterministic_note(record["nondeterministic"]))
        note_edited_modules(report, record)
        self._log(report, fingerprint.key, cached=True, outputs=restored, decision=hit_decision(lookup))
        return True

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
        lookup: Lookup,
    ) -> dict[str, Any] | None:
        namespace = self.host.namespace
        reasons = [lookup.why] if lookup.why else _reasons(options, fingerprint, previous)
        earlier = lookup.against if lookup.against is not None else previous
        decision: dict[str, Any] = {"kind": "ran" if uncacheable is None else "uncacheable", "reasons": [uncacheable] if uncacheable else reasons}
        stored_inputs = self._store_inputs(fingerprint) if fingerprint is not None else []
        before = {name: id(value) for name, value in namespace.items()}
        inputs = [n for n, d in fingerprint.inputs.items() if d != ABSENT and n in namespace] if fingerprint else []
        live = LiveIndex.of(namespace, inputs)
        quiet = (str(self.store.root),) if not str(self.store.root).startswith(("s3:", "gs:", "az:")) else ()
        try:
            with self.host.capture() as events, metrics.collecting(options.name) as logged:
                with tracing.observe(namespace, sys._getframe(), quiet) as observation, branches.recording() as choices:
                    await self._execute(body, report, asynchronous, key=fingerprint.key if fingerprint else "", decision=decision)
        except StepFailed as failure:
            failure.changed = tuple(self._changed_inputs(fingerprint)) if fingerprint is not None else ()
            raise
        report.ran(reasons)
        try:
            outcome = self._outcome(analysis, fingerprint, before)
            self._save_outputs(options, namespace, fingerprint, only_missing=False)
            if fingerprint is None:
                report.uncacheable(uncacheable or "its inputs cannot be hashed")
                decision = {"kind": "uncacheable", "reasons": [uncacheable or "its inputs cannot be hashed"]}
                self._log(report, "", cached=False, outputs=sorted(outcome.outputs), decision=decision)
                return None
            trace = tracing.trace_of(observation, namespace, fingerprint.touched, set(outcome.outputs), fingerprint.named)
            widgets = capture.live_widgets(events)
            if widgets:  # replayed, a widget would be its text; a plain run shows a live one
                trace.untraceable.insert(0, f"it shows a live widget ({', '.join(widgets)}), which a stored output cannot bring back")
            if uncacheable is not None:
                trace.untraceable.insert(0, uncacheable)
            effects = tracing.effects_of(observation, self.host.transform(body), namespace)
            if self.store.read_only:  # a colleague's archive, a read-only mount: the step ran, nothing is written
                report.note("not stored: the store is read-only")
                return None
            record = self._store_outcome(
                options, body, fingerprint, outcome, events, report, logged, params, stored_inputs, trace, effects, live, observation,
                choices.summary(),
            )
        except KeyboardInterrupt:
            raise StepNotStored(
                f"Step {options.name} ran, but wfnb was interrupted while storing its result. Nothing half-written was "
                "kept (the store is consistent); its values are in the namespace, but it is not cached and no variant "
                "was recorded. Run the cell again to store its result (it runs again)."
            ) from None
        except StoreError as error:
            raise StepNotStored(
                f"Step {options.name} ran and its values are in the namespace, but its result could not be stored, so "
                f"it is not cached and no variant was recorded: {error} Then run the cell again."
            ) from None
        note_edited_modules(report, record)
        decision.update(record=self._blob_of(record), against=self._blob_of(earlier))
        self._log(report, fingerprint.key, cached=False, outputs=sorted(outcome.outputs), decision=decision)
        return record

    async def _execute(self, body: str, report: StepReport, asynchronous: bool, key: str, decision: dict[str, Any] | None = None) -> None:
        """Run the body as a plain cell would, so the user sees their own traceback."""
        error = await self.host.execute(body, asynchronous, report.step)
        if error is None:
            return
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        report.failed(detail)
        self._log(report, key, cached=False, outputs=[], error=detail, decision={**(decision or {}), "kind": "failed"})
        if isinstance(error, KeyboardInterrupt):
            raise StepInterrupted(f"step {report.step} was interrupted; nothing was cached.") from error
        # chained, so that a caller that shows no stream (the browser's replay) can show the user's traceback
        raise StepFailed(f"step {report.step} failed ({detail}); nothing was cached. Fix the cell and run it again.") from error

    def _changed_inputs(self, fingerprint: Fingerprint) -> list[str]:
        """The inputs whose values are no longer what the step read (a failed run changed them before it stopped)."""
        namespace, changed = self.host.namespace, []
        for name, digest in fingerprint.inputs.items():
            if digest == ABSENT or name not in namespace or is_module(namespace[name]):
                continue
            try:
                if hash_value(namespace[name]) != digest:
                    changed.append(name)
            except Exception:  # noqa: BLE001 - a value that cannot be hashed now cannot be trusted either
                changed.append(name)
        return changed

    def _store_inputs(self, fingerprint: Fingerprint) -> list[str]:
        """Keep the step's input values (once per value) so that a replay can start from them."""
        namespace = self.host.namespace
        stored: list[str] = []
        if self.store.read_only:
            return stored
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
                if digest == ABSENT or name in names or name not in namespace or is_module(namespace[name]):
                    continue  # a module's changes are effects (wfnb.cache.effects)
                try:
                    changed = hash_value(namespace[name]) != digest
                except UnhashableValue:
                    changed = True
                if changed:
                    outcome.mutated.append(name)
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
        logged: metrics.Logged,
        params: Mapping[str, Any],
        stored_inputs: list[str],
        trace: probes.Trace,
        effects: Any,
        live: LiveIndex,
        observation: tracing.Observation,
        taken: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Write the values as one graph, then the record (the commit point).

        A step whose outputs cannot all be stored, or whose run could not be traced,
        still gets a record (its code, inputs and metrics belong to the workflow's
        history), marked as not restorable so that the cache never half-restores it.
        """
        store, namespace = self.store, self.host.namespace
        values = StepValues(effects=effects)
        values.outputs = dict(outcome.outputs)
        for name in outcome.mutated:
            value = namespace[name]
            if isinstance(value, type):
                values.classes[name] = class_state(value)
            else:
                values.changed[name] = value
                kept = [axis for axis, obj in axes(value) if live.path_of(obj) is not None]  # renamed in place, not replaced
                if kept:
                    values.kept_axes[name] = kept
        unchanged = {n for n in fingerprint.inputs if n not in outcome.mutated or isinstance(namespace.get(n), type)}
        written, digests, problems = None, {}, {}
        try:
            digests = {name: hash_value(value) for name, value in values.outputs.items()}
            kept_live = live.restricted_to(unchanged)
            packed = stepvalues.pack(values, kept_live, namespace, digests)
            packed, digests = self._digests_as_restored(values, packed, digests, kept_live)
            written = stepvalues.write(store, packed)
        except (UnstorableValue, UnhashableValue):
            problems = stepvalues.unstorable_names(values)
        if problems:
            report.not_cached(problems)
            if (options.name, *sorted(problems)) not in self._warned_unstorable:
                self._warned_unstorable.add((options.name, *sorted(problems)))
                self.host.warn(report.unstorable_warning(problems))
        elif trace.untraceable:
            report.uncacheable("; ".join(trace.untraceable))
        record = {
            "record_format": RECORD_FORMAT_VERSION,
            "key": fingerprint.key,
            "restorable": not problems and not trace.untraceable,
            "workflow": self.workflow,
            "step": options.name,
            "code": body,
            "code_hash": fingerprint.code,
            "inputs": fingerprint.inputs,
            "stored_inputs": stored_inputs,
            "indirect": sorted(fingerprint.indirect),
            "files": fingerprint.files,
            "deps": list(options.deps),
            "modules": fingerprint.modules,
            "params": {name: params[name] for name in fingerprint.inputs if name in params},
            "outputs": {name: digests.get(name, "") for name in outcome.outputs} if not problems else {},
            "graph": written.graph if written else None,
            "leaves": list(written.leaves) if written else [],
            "unstored": sorted(problems),
            "mutated": outcome.mutated,
            "deleted": outcome.deleted,
            "trace": trace.to_json(),
            "evidence": _evidence(store, fingerprint, trace, namespace),
            "effects": effects.summary(),
            "before": before_effects(effects),
            "imports": reimports(observation),
            "metrics": dict(logged),
            "series": logged.series(),  # each metric logged again: its [step, value] points (wfnb.cache.metrics)
            "display": store.put_json(events),
            "started": report.started,
            "duration_s": report.elapsed(),
            "stored_bytes": written.total if written else 0,
        }
        if not record["graph"]:
            del record["graph"]
        if taken:  # which branch of each choice ran (wfnb.cache.branches): a fact of this result, like its outputs
            record["branches"] = taken
        if observation.watch.uses:  # results of other workflows it read (wfnb.history.upstream), for the links shown
            record["upstream"] = list(observation.watch.uses.values())
        earlier = self._earlier(fingerprint.key)
        if problems and earlier is not None:
            return record  # never replace a restorable entry with one that is not
        if earlier is not None and earlier.get("nondeterministic"):
            record["nondeterministic"] = earlier["nondeterministic"]  # a property of the key, seen by a check
        if earlier is not None and record["restorable"]:
            record["alternatives"] = self._keep_alternatives(earlier, record)
        store.commit_record(fingerprint.key, record)
        self.entries.remember(fingerprint.key, record)
        if record["restorable"] and written is not None:
            report.stored(len(outcome.outputs) + len(outcome.mutated), written.total, written.new)
        return record

    def forget(self, key: str) -> None:
        """Read the record of ``key`` from the store next time: it was annotated meanwhile (``wfnb.history.determinism``)."""
        self.entries.forget(key)

    def _earlier(self, key: str) -> dict[str, Any] | None:
        try:
            return self.entries.record(key)
        except (CorruptObject, StoreError):
            return None

    def _keep_alternatives(self, earlier: dict[str, Any], record: dict[str, Any]) -> list[str]:
        """Earlier results of the same key whose traces differ from this one's: kept to be found again."""
        if not earlier.get("restorable", True) or earlier.get("trace") == record.get("trace") or "graph" not in earlier:
            return list(earlier.get("alternatives", []))[:_ALTERNATIVES]
        previous = {k: v for k, v in earlier.items() if k != "alternatives"}
        return [self.store.put_json(previous), *earlier.get("alternatives", [])][:_ALTERNATIVES]

    def _digests_as_restored(self, values: StepValues, packed: Any, digests: dict[str, str], live: LiveIndex) -> tuple[Any, dict[str, str]]:
        """The graph to store, and the hash of each output as a restore will give it back.

        A few types lose state in a pickle round trip (scikit-learn's ``Bunch``
        forgets its attributes, statsmodels' ``NegativeBinomial`` resets a flag in
        its ``__setstate__``). Their restored copy hashes differently, and
        the steps that read it would never be hits after a restart. For outputs
        of types not known to round-trip exactly, the restored copy is made now
        (from the graph just packed). If it differs, the graph is packed again with
        such objects stored as their attributes; if that still differs, the restored
        copy becomes the step's output here too: this kernel then holds what any
        later restore gives.
        """
        doubtful = [name for name, value in values.outputs.items() if not _round_trips_exactly(value)]
        if not doubtful or len(packed.data) > _ROUND_TRIP_LIMIT:
            return packed, digests
        try:
            restored = stepvalues.round_trip(packed, self.host.namespace).outputs
        except Exception as error:  # a value that cannot be loaded back must not be stored
            raise UnstorableValue(f"it cannot be loaded back once stored ({type(error).__name__}: {error})") from error
        if any(hash_value(restored[name]) != digests[name] for name in doubtful):
            try:
                again = stepvalues.pack(values, live, self.host.namespace, digests, by_attributes=True)
                packed, restored = again, stepvalues.round_trip(again, self.host.namespace).outputs
            except Exception:  # noqa: BLE001 - stored as attributes, it does not load back: the first graph stays
                pass
        for name in doubtful:
            if hash_value(restored[name]) != digests[name]:
                # as a hit would bind it: functions and classes of the notebook read its globals
                copy = rebind(restored[name], self.host.namespace, adopt_globals=self.host.fresh)
                self.host.namespace[name] = values.outputs[name] = copy
                digests[name] = hash_value(copy)
        return packed, digests

    # -- around the step ----------------------------------------------------

    def _save_outputs(
        self, options: StepOptions, namespace: dict[str, Any], fingerprint: Fingerprint | None, only_missing: bool
    ) -> None:
        if not options.saves:
            return
        inputs = fingerprint.inputs if fingerprint else {}
        params = {name: namespace[name] for name in inputs if name in namespace and _is_scalar(namespace[name])}
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

    def _log(
        self, report: StepReport, key: str, *, cached: bool, outputs: list[str], error: str | None = None, decision: Mapping[str, Any] | None = None
    ) -> None:
        """One entry of the run log; ``decision`` is why the step ran or which entry it used (``wfnb why``)."""
        if self.store.read_only:
            return
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
                    "why": dict(decision) if decision else None,
                }
            )
        except WfnbError as failure:
            self.host.warn(f"the run of step {report.step} could not be logged: {failure}")

    def _blob_of(self, record: Mapping[str, Any] | None) -> str | None:
        """A record as a JSON blob (a variant names the same one), for ``wfnb why`` to compare against."""
        if record is None:
            return None
        try:
            return self.store.put_json(dict(record))
        except WfnbError:
            return None


def _evidence(store: Store, fingerprint: Fingerprint, trace: probes.Trace, namespace: dict[str, Any]) -> dict[str, Any]:
    """What ``wfnb why`` will need to say what changed (``wfnb.cache.evidence``); never fails the step."""
    try:
        return evidence.gather(store, fingerprint, trace, namespace)
    except Exception:  # noqa: BLE001 - an explanation is a courtesy; the result is what counts
        return {}


def run_sync(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (no await reaches an event loop) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a synchronous step suspended; this is a bug in wfnb")


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
