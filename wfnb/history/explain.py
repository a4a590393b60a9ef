"""Why a step ran, or which stored result it used: ``%wfnb why STEP``, ``wfnb why WORKFLOW STEP``, ``wfnb.why(STEP)``.

The status line gives one short reason (``ran 40 ms (file data/prices.csv
changed)``); this is the long answer. Every execution of a step is logged with
its decision (``wfnb.cache.runner``): for a hit, the entry it used; for a run, the
record it made and the entry it is compared with (the record the notebook held
for the step, or the stored result whose trace no longer held). ``explain``
reads the latest decision and compares the two records ingredient by
ingredient, as the key and the trace list them: the code (a diff), each input
(by how much: ``wfnb.cache.valuediff``), the helpers and local modules (their source,
kept by ``wfnb.cache.evidence``), the files (size, time, content), the packages
(versions), and the rest of the run-time trace.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from wfnb.cache import evidence, probes
from wfnb.cache.statusline import format_duration, format_size
from wfnb.cache.valuediff import difference, text_diff
from wfnb.errors import CorruptObject, StoreError, UnknownName, WfnbError

if TYPE_CHECKING:
    from wfnb.store import Store

_VALUE_LIMIT = 256 << 20  # an input stored larger than this is not loaded to say how it changed


@dataclass(frozen=True)
class Section:
    """One ingredient that changed: a title (``input prices``) and what changed in it."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """The last decision for a step, in words: a headline, then one section per ingredient that changed."""

    workflow: str
    step: str
    decision: str  # "hit", "ran", "failed", "uncacheable"
    when: str  # ISO time of the decision
    headline: tuple[str, ...]
    sections: tuple[Section, ...] = ()

    def __str__(self) -> str:
        lines = list(self.headline)
        for section in self.sections:
            lines.append("")
            lines.append(section.title)
            lines.extend(f"  {line}" for line in section.lines)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation of step {self.step} ({self.workflow}): {self.headline[0]}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow, "step": self.step, "decision": self.decision, "when": self.when,
            "headline": list(self.headline), "sections": [{"title": s.title, "lines": list(s.lines)} for s in self.sections],
        }


def explain(store: Store, workflow: str, step: str) -> Explanation:
    """Why step ``step`` of ``workflow`` last ran, or which stored result it last used."""
    entries = _runs_of(store, workflow, step)
    latest = next(entries, None)
    if latest is None:
        raise UnknownName(_no_run(store, workflow, step))
    decision = latest.get("why") or {}
    kind = decision.get("kind") or ("hit" if latest.get("cached") else "ran")
    when = str(latest.get("started", ""))
    if kind == "hit":
        return _explain_hit(workflow, step, when, latest, decision)
    reasons = [str(r) for r in decision.get("reasons") or [] if r]
    because = f" ({'; '.join(reasons)})" if reasons else ""
    if kind == "failed":
        headline = [f"step {step} · failed {_time(when)}: {latest.get('error') or 'its code raised'}{because}",
                    "Nothing was cached; the step runs again next time. What changed since the entry before it:"]
    elif kind == "uncacheable":
        headline = [f"step {step} · ran {_time(when)}, and runs every time: {'; '.join(reasons) or 'it cannot be cached'}"]
    else:
        headline = [f"step {step} · ran {_time(when)}{because}"]
    now = _blob(store, decision.get("record")) or (_committed(store, latest.get("key")) if kind != "failed" else None)
    earlier = _blob(store, decision.get("against")) or _older_entry(store, entries, latest.get("key"))
    if decision.get("kind") is None:
        headline.append("(logged by an earlier wfnb, which kept no details of its decision)")
    if earlier is None:
        headline.append("There is no earlier entry of this step in the store to compare with: it ran for the first time.")
        return Explanation(workflow, step, kind, when, tuple(headline))
    made = f"{_time(earlier.get('started', ''))}, key {str(earlier.get('key', ''))[:10]}"
    if now is None:
        headline.append(f"The run left no record; the entry before it was made {made}.")
        return Explanation(workflow, step, kind, when, tuple(headline))
    headline.append(f"Compared with the entry made {made}:")
    sections = changes(store, earlier, now)
    if not sections:
        sections = [Section("nothing else", (_unexplained(earlier, now, reasons),))]
    return Explanation(workflow, step, kind, when, tuple(headline), tuple(sections))


def changes(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    """What differs between two records of a step, ingredient by ingredient."""
    sections = _code(earlier, now)
    sections += _inputs(store, earlier, now)
    sections += _modules(store, earlier, now)
    sections += _files(store, earlier, now)
    sections += _trace(earlier, now)
    return sections


# ---- a hit --------------------------------------------------------------------------------------


def _explain_hit(workflow: str, step: str, when: str, latest: Mapping[str, Any], decision: Mapping[str, Any]) -> Explanation:
    entry = decision.get("entry") or {}
    headline = [f"step {step} · cached {_time(when)}: restored {', '.join(latest.get('outputs') or []) or 'nothing to restore'}"]
    if entry:
        made = f"It used the result made {_time(entry.get('started', ''))}"
        if entry.get("duration_s") is not None:
            made += f" (it ran {format_duration(float(entry['duration_s']))} then"
            made += f", in workflow {entry['workflow']})" if entry.get("workflow") not in (None, workflow) else ")"
        made += f", key {str(entry.get('key', ''))[:10]}."
        headline.append(made)
        if entry.get("alternative"):
            headline.append("That is an earlier result of the same key, kept because its run-time trace differs from the latest one's; its trace holds now.")
    headline.append("Its code, inputs, helpers, modules and packages hash as then, and every probe of its trace gave the same value.")
    return Explanation(workflow, step, "hit", when, tuple(headline))


# ---- ingredients ---------------------------------------------------------------------------------


def _code(earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    if earlier.get("code_hash") == now.get("code_hash"):
        return []
    step = now.get("step", "step")
    lines = text_diff(str(earlier.get("code", "")), str(now.get("code", "")), f"{step} (then)", f"{step} (now)")
    return [Section("code", tuple(lines) or ("changed",))]


def _inputs(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    before, after = earlier.get("inputs") or {}, now.get("inputs") or {}
    params = {**(earlier.get("params") or {}), **(now.get("params") or {})}
    indirect = set(now.get("indirect") or ()) | set(earlier.get("indirect") or ())
    sections = []
    for name in sorted(set(before) | set(after), key=lambda n: (n not in params, n)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in params:
            then, value = (earlier.get("params") or {}).get(name, "(not set)"), (now.get("params") or {}).get(name, "(not set)")
            sections.append(Section(f"parameter {name}", (f"{then!r} → {value!r}",)))
            continue
        what = f"{'global' if name in indirect else 'input'} {name}" + (" (read by a helper the step calls)" if name in indirect else "")
        if old in (None, probes.ABSENT) or new in (None, probes.ABSENT):
            said = "was not defined then; it is now" if old in (None, probes.ABSENT) else "is no longer defined"
            sections.append(Section(what, (said,)))
            continue
        source = _helper_change(store, earlier, now, name)
        if source is not None:
            sections.append(Section(f"helper {name}", tuple(source)))
            continue
        sections.append(Section(what, tuple(_value_change(store, earlier, now, name))))
    return sections


def _helper_change(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any], name: str) -> list[str] | None:
    then = evidence.text(store, ((earlier.get("evidence") or {}).get("helpers") or {}).get(name))
    source = evidence.text(store, ((now.get("evidence") or {}).get("helpers") or {}).get(name))
    if then is None or source is None:
        return None
    if then == source:
        return ["its source is the same: what changed is a default, a closure value or a global it reads"]
    return text_diff(then, source, f"{name} (then)", f"{name} (now)")


def _value_change(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any], name: str) -> list[str]:
    try:
        old, new = _stored_input(store, earlier, name, "then"), _stored_input(store, now, name, "now")
    except _NotKept as missing:
        return [f"its value changed; {missing}"]
    if isinstance(new, types.ModuleType):
        return [f"a module: see module {new.__name__}"]
    try:
        return list(difference(old, new).lines)
    except Exception as error:  # noqa: BLE001 - a value that cannot be compared still changed
        return [f"its value changed (they cannot be compared here: {type(error).__name__}: {error})"]


class _NotKept(Exception):
    """A value that was not stored, or cannot be read now."""


def _stored_input(store: Store, record: Mapping[str, Any], name: str, when: str) -> Any:
    digest = (record.get("inputs") or {}).get(name)
    if name not in (record.get("stored_inputs") or ()) or not isinstance(digest, str):
        raise _NotKept(f"its value {when} could not be stored, so the two cannot be compared")
    try:
        size = store.object_size(digest)
        if size > _VALUE_LIMIT:
            raise _NotKept(f"its value {when} takes {format_size(size)}, too much to load just to compare")
        return store.get_object(digest)
    except (CorruptObject, StoreError) as error:
        raise _NotKept(f"its value {when} is no longer readable in the store ({_first_sentence(error)})") from None


def _modules(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    """Local modules (their source and data), packages (their version) and the other parts of the key's
    ``modules``, plus the trace's module and package probes: one section per name."""
    before = dict(earlier.get("modules") or {})
    after = dict(now.get("modules") or {})
    traced_then = {what: value for kind, what, value in probes.probes_of(dict(earlier)) if kind in ("module", "package")}
    traced_now = {what: value for kind, what, value in probes.probes_of(dict(now)) if kind in ("module", "package")}
    for name in set(traced_then) & set(traced_now):  # what the run imported on the way: only a changed one counts
        before.setdefault(name, traced_then[name])
        after.setdefault(name, traced_now[name])
    sections = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "sys.argv":
            sections.append(Section("sys.argv", ("its value changed (kept as a hash only)",)))
        elif name.endswith(" (changed classes)"):
            package = name.removesuffix(" (changed classes)")
            sections.append(Section(f"{package} classes", (f"methods or accessors the notebook added to {package}'s classes changed",)))
        elif _is_module_state(old) or _is_module_state(new):
            sections.append(Section(f"module {name}", tuple(_module_change(store, earlier, now, name, old, new))))
        elif old is None or new is None:
            sections.append(Section(f"package {name}", (f"imported now ({new})" if old is None else f"imported then ({old}), not now",)))
        else:
            sections.append(Section(f"package {name}", (f"{old} → {new}",)))
    return sections


def _is_module_state(value: Any) -> bool:
    return isinstance(value, str) and "/" in value


def _module_change(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any], name: str, old: Any, new: Any) -> list[str]:
    if old is None or new is None:
        return ["the step did not use it then" if old is None else "the step no longer uses it"]
    old_source, old_data = str(old).split("/", 1)
    new_source, new_data = str(new).split("/", 1)
    lines = []
    if old_source != new_source:
        then = evidence.text(store, ((earlier.get("evidence") or {}).get("modules") or {}).get(name))
        source = evidence.text(store, ((now.get("evidence") or {}).get("modules") or {}).get(name))
        if then is not None and source is not None:
            lines += text_diff(then, source, f"{name}.py (then)", f"{name}.py (now)")
        else:
            lines.append("its source changed (the text it ran then was not kept)")
    if old_data != new_data:
        lines.append("the data the notebook left in it changed (an attribute set by a cell, such as mylib.K = 5)")
    return lines or ["changed"]


def _files(store: Store, earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    before = {**(earlier.get("files") or {}), **{what: value for kind, what, value in probes.probes_of(dict(earlier)) if kind == "file"}}
    after = {**(now.get("files") or {}), **{what: value for kind, what, value in probes.probes_of(dict(now)) if kind == "file"}}
    facts_then = (earlier.get("evidence") or {}).get("files") or {}
    facts_now = (now.get("evidence") or {}).get("files") or {}
    sections = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new or old is None or new is None:
            continue  # a file read only by one of them is the trace's news (below)
        sections.append(Section(f"file {_shown(path)}", tuple(_file_change(store, facts_then.get(path), facts_now.get(path), old, new))))
    return sections


def _file_change(store: Store, then: Mapping[str, Any] | None, now: Mapping[str, Any] | None, old: str, new: str) -> list[str]:
    if old == probes.ABSENT or new == probes.ABSENT:
        return ["it did not exist then; it does now" if old == probes.ABSENT else "it no longer exists"]
    if not then or not now:
        return ["its content changed (its size and time were not kept then)"]
    lines = [f"size {format_size(int(then['size']))} → {format_size(int(now['size']))}; "
             f"modified {_time(then['mtime'])} → {_time(now['mtime'])}"]
    old_text, new_text = evidence.text(store, then.get("text")), evidence.text(store, now.get("text"))
    if old_text is not None and new_text is not None:
        lines += text_diff(old_text, new_text, "then", "now", limit=30)
    else:
        lines.append(f"its content changed (only text files up to {format_size(evidence.TEXT_LIMIT)} are kept to show a diff)")
    return lines


def _trace(earlier: Mapping[str, Any], now: Mapping[str, Any]) -> list[Section]:
    """The probes of the run-time trace that changed, appeared or went, not already shown above."""
    before = {(kind, what): value for kind, what, value in probes.probes_of(dict(earlier))}
    after = {(kind, what): value for kind, what, value in probes.probes_of(dict(now))}
    lines = []
    for kind, what in [*before, *(k for k in after if k not in before)]:
        old, new = before.get((kind, what)), after.get((kind, what))
        if old == new or kind in ("module", "package") or (kind == "file" and old is not None and new is not None):
            continue
        if old is None and kind not in _INCIDENTAL:
            lines.append(f"now also depends on {_probe_name(kind, what)}")
        elif old is not None and new is not None:
            lines.append(_probe_change(kind, what, old, new))
    untraceable = [u for u in (now.get("trace") or {}).get("untraceable", []) if u not in (earlier.get("trace") or {}).get("untraceable", [])]
    lines += [f"cannot be traced now: {reason}" for reason in untraceable]
    return [Section("run-time trace", tuple(lines))] if lines else []


# Probes a run may or may not take depending on what the kernel had done before (a first import of
# pandas sets up numpy's random state and settings, and looks for its modules in the notebook's folder):
# one that appears says nothing about why it ran.
_INCIDENTAL = {"rng", "settings", "cwd", "lookup"}


def _probe_change(kind: str, what: str, old: str, new: str) -> str:
    if kind == "cwd":
        return f"working directory {old} → {new}"
    if kind == "env":
        if probes.UNSET in (old, new):
            return f"environment variable {what} was {'unset' if old == probes.UNSET else 'set'} then, and is {'unset' if new == probes.UNSET else 'set'} now"
        return f"environment variable {what} changed (its values are kept as hashes only)"
    if kind == "variant":
        from wfnb.history.links import describe_change

        return describe_change(what, old, new)
    return probes.describe(kind, what, new, old)


def _probe_name(kind: str, what: str) -> str:
    if kind == "variant":
        from wfnb.history.links import describe_ref

        return describe_ref(what)
    named = {"file": "file", "wrote": "the file it writes", "listing": "the listing of", "folder": "the listing of", "tree": "every file below",
             "env": "environment variable", "module": "module", "package": "package", "settings": "the settings of",
             "global": "the name read through eval", "rng": "the global random state of"}
    if kind == "glob":
        return f"the files matching {what}"
    if kind == "lookup":
        folder, names = json.loads(what)
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return f"whether folder {_shown(folder or '.')} holds a module named {', '.join(names[:3])}{more}"
    if kind in ("cwd", "environ", "argv"):
        return {"cwd": "the working directory", "environ": "the whole environment", "argv": "sys.argv"}[kind]
    return f"{named.get(kind, kind)} {_shown(what) if kind in ('file', 'wrote', 'listing', 'folder', 'tree') else what}"


def _unexplained(earlier: Mapping[str, Any], now: Mapping[str, Any], reasons: list[str]) -> str:
    if earlier.get("key") == now.get("key"):
        return "its key and trace are as then" + (f"; it ran because: {'; '.join(reasons)}" if reasons else "")
    return "its key differs, but no single ingredient shows why: the Python version or the key format of wfnb changed"


# ---- reading the log and the records -------------------------------------------------------------


def _runs_of(store: Store, workflow: str, step: str) -> Iterator[Mapping[str, Any]]:
    return (entry for entry in store.recent_runs() if entry.get("workflow") == workflow and entry.get("step") == step)


def _older_entry(store: Store, entries: Iterator[Mapping[str, Any]], key: Any) -> dict[str, Any] | None:
    """The record of the latest earlier run with another key: the nearest earlier entry."""
    for entry in entries:
        other = entry.get("key")
        if other and other != key:
            found = _committed(store, other)
            if found is not None:
                return found
    return None


def _blob(store: Store, digest: Any) -> dict[str, Any] | None:
    if not isinstance(digest, str):
        return None
    try:
        found = store.get_json(digest)
    except WfnbError:
        return None
    return found if isinstance(found, dict) else None


def _committed(store: Store, key: Any) -> dict[str, Any] | None:
    if not isinstance(key, str) or not key:
        return None
    try:
        return store.read_record(key)
    except WfnbError:
        return None


def _no_run(store: Store, workflow: str, step: str) -> str:
    steps = sorted({str(e.get("step")) for e in store.recent_runs() if e.get("workflow") == workflow})
    known = f"its steps: {', '.join(steps)}" if steps else "it has no runs at all"
    return (
        f"Workflow {workflow!r} has no run of step {step!r} in the store at {store.root} ({known}). "
        "Check the step's name, or run the step first."
    )


def _time(value: Any) -> str:
    """A run's ISO time or a file's mtime as ``2025-01-05 14:03:11 UTC``."""
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        else:
            moment = datetime.fromisoformat(str(value)).astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        return str(value) or "at an unknown time"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


def _first_sentence(error: BaseException) -> str:
    return str(error).split(". ", 1)[0]
