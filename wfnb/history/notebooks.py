"""A variant as a notebook or a plain script (``wfnb.history.workflow`` reads a notebook back).

The notebook is a clean one: ``%load_ext wfnb``, the values the steps read
from outside them, the ``%%params`` cell, then one ``%%step`` cell per step with
the outputs it showed. Run against the store it came from, every step is a
cache hit. The script needs no wfnb at all: parameters as assignments, then
each step's code, IPython syntax rewritten as plain Python.

What the original notebook's plain cells made (imports, helpers, constants)
was never recorded as code, only as values the steps read. They are written
back as code where that gives the very same value (an import, a literal, a
helper whose source is still known and hashes the same); anything else is
restored from the store in the notebook, and named in a comment in the script.
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wfnb.cache.plaincode import to_plain_python
from wfnb.errors import BadArgument, CorruptObject, WfnbError
from wfnb.history.records import params_cell, step_cell
from wfnb.store.localfs import replacing

if TYPE_CHECKING:
    from wfnb.cache.capture import Event
    from wfnb.history.records import RecordedVariant
    from wfnb.history.workflow import Workflow

DefinitionKind = Literal["import", "literal", "source", "stored", "missing"]
_SCRIPT_HEADER = '''"""{title}

A plain Python script: `python {filename}` runs the variant's steps in order with its
parameters, without wfnb. IPython syntax in the steps (%magics, !commands) was
rewritten as plain Python, or left out with a comment saying so.
"""
'''
_LOG_STUB = '''import sys as _sys
import types as _types


def _log(**metrics):
    """In the notebook, wfnb.log() recorded these on the variant; here they are printed."""
    for name, value in metrics.items():
        print(f"metric {name} = {value!r}")


_sys.modules["wfnb"] = _types.ModuleType("wfnb")  # `import wfnb` in a step gets this stand-in
_sys.modules["wfnb"].log = _log
'''


@dataclass(frozen=True)
class _Definition:
    """How to make one value the steps read from outside them: code that rebuilds it, or not."""

    name: str
    kind: DefinitionKind
    code: str = ""
    what: str = ""  # for comments: "a DataFrame read by step fit"


# -- writing ---------------------------------------------------------------------


def write_notebook(variant: RecordedVariant, path: str | os.PathLike[str]) -> None:
    """Write ``variant`` as a clean notebook (nbformat 4) whose steps are all cache hits in its store."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    store = variant._store()
    ref = f"{variant.workflow}/{variant.identity[:12]}"
    header = [
        f"# {_title(variant)}",
        f"# Run it with the store it came from ({store.root}: set WFNB_STORE, or add `%wfnb store PATH` below)",
        "# and every step is restored from the cache.",
        "%load_ext wfnb",
        f"%wfnb workflow {variant.workflow}",
    ]
    cells = [new_code_cell("\n".join(header))]
    definitions = _outside_definitions(variant)
    setup = _definitions_code(definitions, restore_from=ref)
    if setup:
        cells.append(new_code_cell(setup))
    if variant.params:
        cells.append(new_code_cell(params_cell(variant.params)))
    for record in variant.steps:
        cells.append(new_code_cell(step_cell(record), outputs=_outputs(_events(variant, record.step))))
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "wfnb": {"workflow": variant.workflow, "variant": variant.name, "identity": variant.identity},
        },
    )
    nbformat.validate(notebook)
    _write_text(Path(path), nbformat.writes(notebook))


def write_script(variant: RecordedVariant, path: str | os.PathLike[str]) -> None:
    """Write ``variant`` as a plain Python script that reproduces it without wfnb."""
    target = Path(path)
    steps = [(record, to_plain_python(record.code)) for record in variant.steps]
    needs = sorted(set().union(*(plain.needs for _, plain in steps)))
    definitions = _outside_definitions(variant)
    uses_wfnb = any(re.search(r"\bwfnb\b", plain.code) for _, plain in steps) or any(d.name == "wfnb" for d in definitions)
    parts = [_SCRIPT_HEADER.format(title=_title(variant), filename=target.name)]
    if needs:
        parts.append("".join(f"import {name}\n" for name in needs))
    if uses_wfnb:
        parts.append(_LOG_STUB)
    outside = _definitions_code(definitions, restore_from=None)
    if outside:
        parts.append(outside)
    if variant.params:
        parts.append("# -- parameters\n" + _assignments(variant.params))
    for record, plain in steps:
        deps = record.record.get("deps", [])
        reads = f"  (reads {', '.join(deps)})" if deps else ""
        parts.append(f"# -- step {record.step}{reads}\n{plain.code.rstrip()}\n")
    _write_text(target, "\n\n".join(part.rstrip("\n") + "\n" for part in parts))


def _title(variant: RecordedVariant) -> str:
    tags = f" [{', '.join(variant.tags)}]" if variant.tags else ""
    day = datetime.now(timezone.utc).date().isoformat()
    return (
        f"Workflow {variant.workflow}, variant {variant.name}{tags} (hash {variant.identity[:12]}), "
        f"exported by wfnb {_version()} on {day}."
    )


def _version() -> str:
    try:
        return metadata.version("wfnb")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "(not installed)"


def _assignments(params: Mapping[str, Any]) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in params.items())


def _events(variant: RecordedVariant, step: str) -> list[Event]:
    try:
        return variant.display_events(step)
    except CorruptObject as error:
        from wfnb.cache.execution import warn

        warn(f"the outputs of step {step} could not be read ({error}); its cell is written without them.")
        return []


def _outputs(events: list[Event]) -> list[Any]:
    """Recorded output events as nbformat outputs, in order; a clear drops what came before it."""
    from nbformat.v4 import new_output

    from wfnb.cache.capture import _without_widgets

    outputs: list[Any] = []
    for event in events:
        kind = event["kind"]
        if kind == "stream":
            last = outputs[-1] if outputs else None
            if last is not None and last["output_type"] == "stream" and last["name"] == event["name"]:
                last["text"] += event["text"]
            else:
                outputs.append(new_output("stream", name=event["name"], text=event["text"]))
        elif kind == "display":
            outputs.append(new_output("display_data", data=_without_widgets(event["data"]), metadata=event["metadata"]))
        elif kind == "result":
            data = _without_widgets(event["data"])
            outputs.append(new_output("execute_result", data=data, metadata=event["metadata"], execution_count=None))
        elif kind == "error":
            outputs.append(new_output("error", ename=event["ename"], evalue=event["evalue"], traceback=event["traceback"]))
        elif kind == "clear":
            outputs.clear()  # with wait=True the clear happens at the next output: the end state is the same
    return outputs


def _write_text(path: Path, text: str) -> None:
    """Write a whole file atomically (a temporary file beside it, then a rename), as the umask says."""
    write_file(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_file(path: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` fill a temporary file, then put it at ``path``; an OS error is one clear BadArgument."""
    try:
        with replacing(path) as temporary:
            write(temporary)
    except OSError as error:
        raise BadArgument(f"Could not write {path} ({error.strerror or error}). Choose a writable location.") from None


# -- what the steps read from outside them -----------------------------------------


def _outside_definitions(variant: RecordedVariant) -> list[_Definition]:
    """Code for each value the steps read that no step made, and for the globals its helpers read."""
    from wfnb.history.workflow import Workflow

    store = variant._store()
    workflow = Workflow.from_variant(variant)
    readers = {name: _first_reader(workflow, name) for name in workflow.outside_inputs}
    sources: dict[str, str] = {}  # helper sources, where a record kept them (newer records may)
    for record in variant.steps:
        sources.update(record.record.get("sources", {}))
    found: dict[str, _Definition] = {}
    for name, digest in workflow.outside_inputs.items():
        try:
            value = store.get_object(digest)
        except CorruptObject:
            found[name] = _Definition(name, "missing", what=f"read by step {readers[name]}")
            continue
        _define(name, value, f"read by step {readers[name]}", found, sources, digest)
    return list(found.values())


def _define(
    name: str, value: Any, what: str, found: dict[str, _Definition], sources: dict[str, str], digest: str | None = None
) -> bool:
    """Add a definition of ``value`` as ``name`` (and of what it needs); False if only the store can give it.

    ``digest`` is given for a step's input (which the store holds by that hash);
    a global that a helper reads has none: if it cannot be written as code, the
    helper itself is restored from the store instead, with its globals.
    """
    from wfnb.cache.codehash import global_token
    from wfnb.history.params import check_param

    if name in found:
        return found[name].kind in ("import", "literal", "source")
    described = f"a {type(value).__name__} {what}"
    if isinstance(value, types.ModuleType):
        module = value.__name__
        code = f"import {module}" if module == name else f"import {module} as {name}"
        found[name] = _Definition(name, "import", code, described)
        return True
    token = global_token(value) if callable(value) else None
    if token is not None and "." not in token[1]:
        module, qualname, _ = token
        code = f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")
        found[name] = _Definition(name, "import", code, described)
        return True
    try:
        check_param(name, value)
        found[name] = _Definition(name, "literal", f"{name} = {value!r}", described)
        return True
    except WfnbError:
        pass
    source = _source_of(name, value, digest, sources.get(name))
    if source is not None:
        found[name] = _Definition(name, "source", source, described)
        needed = {k: v for k, v in value.__globals__.items() if not k.startswith("__") and k != name}
        if all(_define(k, v, f"read by {name}()", found, sources) for k, v in needed.items()):
            return True
        del found[name]
    if digest is not None:
        found[name] = _Definition(name, "stored", what=described)
    return False


def _source_of(name: str, value: Any, digest: str | None, recorded: str | None) -> str | None:
    """The source of a notebook function (as recorded, else as this process still knows it), if it
    defines the very same function: the same hash, so that the steps reading it are cache hits."""
    from wfnb.cache.hashing import hash_value

    if not isinstance(value, types.FunctionType) or value.__module__ != "__main__" or value.__name__ != name:
        return None
    try:
        source = textwrap.dedent(recorded if recorded is not None else inspect.getsource(value))
        scratch = dict(value.__globals__)
        exec(compile(source, "<wfnb export>", "exec", dont_inherit=True), scratch)  # a def: its body does not run
        same = hash_value(scratch[name]) == (digest or hash_value(value))
    except Exception:  # noqa: BLE001 - source gone, or not the same function: restore the stored value
        return None
    return source.rstrip() if same else None


def _first_reader(workflow: Workflow, name: str) -> str:
    return next(step.name for step in workflow.steps if name in step.inputs)


def _definitions_code(definitions: list[_Definition], restore_from: str | None) -> str:
    """The setup code: imports, constants and helpers; then (in a notebook) the values only the store has."""
    if not definitions:
        return ""
    order = {"import": 0, "literal": 1, "source": 2}
    lines = ["# Made outside the steps in the original notebook (imports, constants, helpers):"]
    written = sorted((d for d in definitions if d.kind in order), key=lambda d: order[d.kind])
    for definition in written:
        lines.append(definition.code)
    stored = [d for d in definitions if d.kind == "stored"]
    if stored and restore_from is not None:
        names = ", ".join(repr(d.name) for d in stored)
        lines.append("# Values wfnb kept only in the store (data or objects made by plain cells), loaded from it:")
        lines.append("import wfnb")
        lines.append(f"wfnb.Workflow.from_variant({restore_from!r}).restore_inputs(globals(), [{names}])")
    elif stored:
        for definition in stored:
            lines.append(
                f"# NOTE: {definition.name} ({definition.what}) was made outside the steps and only its value was "
                "kept (in the wfnb store); define it here."
            )
    for definition in (d for d in definitions if d.kind == "missing"):
        lines.append(
            f"# NOTE: {definition.name} ({definition.what}) was made outside the steps and could not be stored; "
            "define it here."
        )
    return "\n".join(lines) + "\n"
