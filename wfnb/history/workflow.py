"""A workflow as code you can run outside a notebook: ``wfnb.Workflow``.

Built from an exported variant (a table or CSV file of ``Variant.to_frame()``),
from a notebook file, or from a variant in a store, and run in a fresh
namespace through the cache: in the store it came from, every unchanged step is
restored, not run. The table's JSON columns are read here and written by
``wfnb.history.exports``, which also writes notebooks and scripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb.cache.cellcode import analyze_cell
from wfnb.cache.fingerprint import ABSENT
from wfnb.cache.plaincode import to_plain_python
from wfnb.cache.stepline import parse_step_line
from wfnb.errors import BadArgument, api_boundary, check_name
from wfnb.history.params import check_param
from wfnb.history.replay import StepCode, check_overrides

if TYPE_CHECKING:
    import os

    import pandas as pd

    from wfnb.cache.statusline import StepReport
    from wfnb.history.records import RecordedVariant
    from wfnb.store import Store

# what Workflow.from_frame reads (exports.variant_frame puts parameter and metric columns after "step")
FRAME_COLUMNS = ["workflow", "variant", "step", "code", "params", "deps", "inputs", "outputs", "key", "workflow_params", "indirect"]
_JSON_COLUMNS = ("params", "inputs", "outputs", "deps", "workflow_params", "indirect")


@dataclass(frozen=True)
class Workflow:
    """A runnable workflow outside any notebook: parameters, then step codes in order.

    Build one from an exported variant (``from_frame``, ``from_csv``), from a
    notebook file (``from_notebook``) or from a variant in a store
    (``from_variant``), then ``run`` it: in a fresh namespace, through the
    cache, recording the result as a variant of ``name`` in the store.

    Attributes
    ----------
    name
        The workflow's name in the store.
    params
        Default parameter values; ``run(**params)`` overrides them.
    steps
        The steps in order, each with its code, declared files and the hashes
        of the values it read and produced when it was recorded (empty when
        unknown, as for a notebook file).
    setup
        Plain code run first, every time, uncached (a notebook's imports and
        helpers); empty for an exported variant, whose outside inputs are
        loaded from the store instead.
    origin
        Where it came from, e.g. ``demo/v3``, for messages.
    keys
        The step keys of the variant it came from, to name it as the parent
        of what ``run`` records.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[StepCode, ...] = ()
    setup: str = ""
    origin: str = ""
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name("workflow", self.name)
        seen: set[str] = set()
        for step in self.steps:
            check_name("step", step.name)
            if step.name in seen:
                raise BadArgument(f"Workflow {self.name} has two steps named {step.name!r}; step names must be unique.")
            seen.add(step.name)

    # -- building -------------------------------------------------------------

    @classmethod
    @api_boundary
    def from_frame(cls, frame: pd.DataFrame) -> Workflow:
        """The workflow of a frame made by ``Variant.to_frame()``.

        Only ``step`` and ``code`` are required. Without ``workflow_params`` the
        parameters are those the steps read; without ``workflow`` the workflow is
        named ``workflow``; without ``inputs`` a value no step produces must come
        from ``run(namespace=...)``.
        """
        missing = [c for c in ("step", "code") if c not in frame.columns]
        if missing:
            raise BadArgument(
                f"This table has no column {', '.join(missing)}, so it does not describe a workflow (it has: "
                f"{', '.join(map(str, frame.columns))}). Use a table made by Variant.to_frame() or to_csv()."
            )
        if frame.empty:
            raise BadArgument("This table has no rows, so it has no steps to run. Export a variant with at least one step.")
        rows = frame.to_dict("records")
        steps, step_params = [], {}
        for row in rows:
            name = str(row["step"])
            deps = _loads(row, "deps", [], name)
            steps.append(
                StepCode(
                    name=name,
                    code=str(row["code"]),
                    deps=tuple(str(d) for d in deps),
                    inputs=_loads(row, "inputs", {}, name),
                    outputs=_loads(row, "outputs", {}, name),
                    indirect=tuple(_loads(row, "indirect", [], name)),
                )
            )
            step_params.update(_loads(row, "params", {}, name))
        first = rows[0]
        params = _loads(first, "workflow_params", {}, str(first["step"])) if "workflow_params" in frame.columns else None
        workflow = _text(first.get("workflow")) or "workflow"
        variant = _text(first.get("variant"))
        keys = tuple(_text(row.get("key")) for row in rows)
        return cls(
            name=workflow,
            params=step_params if params is None else params,
            steps=tuple(steps),
            origin=f"{workflow}/{variant}" if variant else workflow,
            keys=keys if all(keys) else (),
        )

    @classmethod
    @api_boundary
    def from_csv(cls, path: str | os.PathLike[str]) -> Workflow:
        """The workflow of a CSV file written by ``Variant.to_csv``."""
        import pandas as pd

        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise BadArgument(f"There is no file {path}. Give the path of a CSV written by Variant.to_csv().") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise BadArgument(f"{path} is not a readable CSV file ({error}). Give a file written by Variant.to_csv().") from None
        return cls.from_frame(frame)

    @classmethod
    @api_boundary
    def from_notebook(cls, path: str | os.PathLike[str]) -> Workflow:
        """The workflow of a notebook file: its ``%%params`` cell, its ``%%step`` cells, and as ``setup``
        the plain code cells before the last step that read nothing a step makes (imports, helpers).

        The name is the one set by ``%wfnb workflow NAME`` in the notebook, else
        its file name, as in Jupyter. Input hashes are unknown, so every name a
        step reads must come from an earlier step, the parameters or the setup.
        """
        return read_notebook(Path(path))

    @classmethod
    @api_boundary
    def from_variant(cls, ref: str | int | RecordedVariant, workflow: str | None = None, store: Store | str | None = None) -> Workflow:
        """The workflow of a recorded variant (``v3``, a tag, a hash prefix, or a ``Variant``)."""
        from wfnb.history.session import find_variant
        from wfnb.history.snapshots import RecordedVariant

        found = ref if isinstance(ref, RecordedVariant) else find_variant(ref, workflow, store)
        return cls(
            name=found.workflow,
            params=dict(found.params),
            steps=tuple(StepCode.from_record(step) for step in found.steps),
            origin=f"{found.workflow}/{found.name}",
            keys=tuple(step.key for step in found.steps),
        )

    # -- using ----------------------------------------------------------------

    @property
    def outside_inputs(self) -> dict[str, str]:
        """Names the steps read that no earlier step produces and that are not parameters, with their
        recorded hashes: what the notebook's plain cells defined (imports, helpers, data)."""
        produced: set[str] = set(self.params)
        found: dict[str, str] = {}
        for step in self.steps:
            for name, digest in step.inputs.items():
                if name not in produced and name not in found and digest != ABSENT:
                    found[name] = digest
            produced.update(step.outputs)
        return found

    @api_boundary
    def run(
        self,
        store: Store | str | None = None,
        *,
        namespace: Mapping[str, Any] | None = None,
        progress: Callable[[StepReport], None] | None = None,
        **params: Any,
    ) -> RecordedVariant:
        """Run the steps in a fresh namespace through the cache and return the variant they make.

        Unchanged steps are restored from the store, not run; one line per step
        says which. A value a step reads that no step produces is taken, in
        order, from ``namespace``, from ``setup``, or from the store by the hash
        it was recorded with; if it is in none of them (a CSV taken to another
        store, a value that could not be stored), pass it in ``namespace``.

        Parameters
        ----------
        store
            A store or its location; default: the notebook's, else ``$WFNB_STORE``, else ``./.wfnb``.
        namespace
            Values to start from, e.g. ``{"helper": helper}``.
        progress
            Called with each step's report; by default one line per step is printed.
        **params
            New values for some of the parameters.

        Returns
        -------
        Variant
            The variant of ``name`` the run reached (an existing one if nothing differs).
        """
        from wfnb.history.replay import print_progress, run_steps
        from wfnb.history.session import resolve_store

        params = check_overrides(f"Workflow {self.name}", params, self.params)
        if not self.steps:
            raise BadArgument(f"Workflow {self.name} has no steps to run.")
        target = resolve_store(store)
        return run_steps(
            target,
            self.name,
            self.steps,
            {**self.params, **params},
            progress=progress or print_progress(f"workflow {self.name}"),
            parent=self._parent_in(target),
            namespace=namespace,
            setup=self.setup,
            label=f"workflow {self.name}" + (f" (from {self.origin})" if self.origin and self.origin != self.name else ""),
            missing_hint=(
                "No step produces it and the store does not hold it (it came from a plain cell of the notebook and "
                "either could not be stored or the workflow was exported from another store). Pass it with "
                "run(namespace={{'{name}': ...}}), or define it in a step."
            ),
        )

    @api_boundary
    def restore_inputs(self, namespace: dict[str, Any], names: Sequence[str] | None = None, store: Store | str | None = None) -> list[str]:
        """Bind into ``namespace`` the outside inputs (see ``outside_inputs``) it lacks, loaded from the store.

        An exported notebook calls this for the values its plain cells made and
        wfnb could not write back as code, so that its steps are restored from
        the cache. Returns the names bound.
        """
        from wfnb.cache.rebinding import rebind
        from wfnb.errors import CorruptObject
        from wfnb.history.session import resolve_store

        source = resolve_store(store, create=False)
        wanted = self.outside_inputs
        bound = []
        for name in wanted if names is None else names:
            if name not in wanted:
                raise BadArgument(f"{name!r} is not an input of {self.origin or self.name} made outside its steps; those are: {', '.join(wanted) or 'none'}.")
            if name in namespace:
                continue
            try:
                namespace[name] = rebind(source.get_object(wanted[name]), namespace, adopt_globals=True)
            except CorruptObject as error:
                raise BadArgument(
                    f"{name!r}, read by {self.origin or self.name} but made by none of its steps, is not in the store at "
                    f"{source.root} ({error}). Define it before running the steps."
                ) from None
            bound.append(name)
        return bound

    def _parent_in(self, store: Store) -> int | None:
        """The variant this workflow was exported from, if the store holds it with the same step keys."""
        from wfnb.history.snapshots import list_variants

        match = re.fullmatch(r".+/v(\d+)", self.origin)
        if not self.keys or match is None:
            return None
        for known in list_variants(store, self.name):
            if known.number == int(match.group(1)):
                same = [s.key for s in known.steps] == list(self.keys)
                return known.number if same else None
        return None

    def __repr__(self) -> str:
        steps = ", ".join(step.name for step in self.steps)
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        origin = f", from {self.origin}" if self.origin and self.origin != self.name else ""
        return f"Workflow({self.name}: params {params or '—'}; steps {steps or '—'}{origin})"


def json_text(value: Any) -> str:
    """A cell of a JSON column."""
    return json.dumps(value, sort_keys=False, ensure_ascii=False, default=repr)


def _loads(row: Mapping[str, Any], column: str, default: Any, step: str) -> Any:
    """A JSON column of one row: absent or empty gives ``default``; a parsed value is accepted as is."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        raise BadArgument(
            f"The {column} of step {step} is not JSON text ({value[:60]!r}). Export tables with Variant.to_frame() "
            "or to_csv(), which write these columns as JSON."
        ) from None
    if default is not None and type(parsed) is not type(default):
        raise BadArgument(f"The {column} of step {step} should be a JSON {type(default).__name__}, not {value[:60]!r}.")
    return parsed


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


# -- reading a notebook file --------------------------------------------------------


def read_notebook(path: Path) -> Workflow:
    """The workflow of a notebook file; see ``Workflow.from_notebook``."""
    import nbformat


    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise BadArgument(f"There is no notebook {path}.") from None
    except (OSError, ValueError, nbformat.reader.NotJSONError) as error:
        raise BadArgument(f"{path} is not a readable notebook ({error}).") from None
    name = None
    params: dict[str, Any] = {}
    steps: list[StepCode] = []
    plain: list[tuple[int, str]] = []  # (steps before it, source)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source.lstrip("\n")
        first, _, body = source.partition("\n")
        if first.startswith("%%step"):
            try:
                args = parse_step_line(first[len("%%step") :])
            except BadArgument as error:
                raise BadArgument(f"{path}: the cell {first!r} has bad arguments ({error}).") from None
            steps.append(StepCode(name=args.name, code=body, deps=tuple(args.deps)))
        elif first.startswith("%%params"):
            params.update(_run_params(path, body))
        elif not first.startswith("%%"):
            plain.append((len(steps), source))
            found = re.search(r"^\s*%wfnb\s+workflow\s+(\S+)\s*$", source, flags=re.M)
            name = found.group(1) if found else name
    made: set[str] = set()
    for step in steps:
        try:
            made |= analyze_cell(to_plain_python(step.code).code).binds
        except SyntaxError:
            continue
    setup_parts, needs = [], set()
    for before, source in plain:
        if before >= len(steps):
            continue  # after the last step: looking at results, not making inputs
        translated = to_plain_python(source)
        try:
            reads = analyze_cell(translated.code).reads
        except SyntaxError:
            reads = frozenset()
        if reads & made:
            continue
        needs |= translated.needs
        setup_parts.append(translated.code.rstrip())
    setup = "".join(f"import {module}\n" for module in sorted(needs)) + "\n\n".join(setup_parts)
    workflow_name = name or (re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem) or "notebook")
    return Workflow(name=workflow_name, params=params, steps=tuple(steps), setup=setup, origin=str(path))


def _run_params(path: Path, body: str) -> dict[str, Any]:
    """The values a ``%%params`` cell binds, by running it on its own (it holds plain assignments)."""

    code = to_plain_python(body).code
    scratch: dict[str, Any] = {}
    try:
        exec(compile(code, f"{path} %%params", "exec", dont_inherit=True), scratch)
        names = analyze_cell(code).binds
    except Exception as error:  # noqa: BLE001 - the user's cell: report it, whatever it raised
        raise BadArgument(f"The %%params cell of {path} failed ({type(error).__name__}: {error}).") from None
    values = {name: scratch[name] for name in sorted(names) if name in scratch}
    for name, value in values.items():
        check_param(name, value)
    return values
