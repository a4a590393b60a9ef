"""What the browser does to the selected variant: replay, sweep, restore into the notebook, export, tag.

A mixin of ``BrowserState``. Each action reports in its own slot of
``notices`` (the view shows it next to the action's button), never raises,
and goes through the public verbs: replays and sweeps through a worker process
(``jobs``), so that the notebook stays free and a cancel stops them at once;
``Session.checkout``; the ``Variant.to_*`` writers; tags. A failed replay
carries the user's own traceback and leaves the store, the selection and the
notebook as they were. Success notes go by themselves after a while, and every
finished result goes when another variant is selected.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Dict, HasTraits, List

from wfnb.errors import BadArgument, WfnbError
from wfnb.frontends.browser import table
from wfnb.frontends.browser.jobs import Job, JobKind
from wfnb.history.snapshots import tag_variant
from wfnb.history.variants import Variant
from wfnb.store import changes, settings

if TYPE_CHECKING:
    from wfnb.history.snapshots import RecordedVariant

EXPORT_FORMATS = {".ipynb": ("to_notebook", "notebook"), ".py": ("to_script", "script"), ".csv": ("to_csv", "CSV table")}
ACTIONS = ("run", "restore", "export", "tag")  # the notice slots: a replay and a sweep share "run"
NOTICE_SECONDS = 30.0  # a success or progress note goes by itself after this; errors stay until dismissed


class Actions(HasTraits):
    """The actions of ``BrowserState`` (which defines the traits and ``variant()`` they use)."""

    notices = Dict(help="each action's last result: {action: {'kind', 'text', 'detail'}}")
    busy = Bool(False, help="a replay or sweep is running")
    progress = List(Dict(), help="the running or last replay's steps ({'step', 'state', 'detail'}), or a sweep's points")

    job: Job | None = None
    read_only = False  # BrowserState's: only look (wfnb ui without --allow-runs)
    _notice_count = 0

    # -- replay and sweep ------------------------------------------------------

    def replay_form(self, texts: Mapping[str, str], wait: bool = False) -> Job | None:
        """Replay the selected variant with the form's values (JSON, or plain text for a string)."""
        with self._action("run", "Replay"):
            variant = self._require_selected()
            overrides = {}
            for name, text in texts.items():
                value = parse_value(text)
                if isinstance(variant.params.get(name), str) and not isinstance(value, str):
                    value = text.strip()  # a string parameter: `1` is the text "1", as the form says
                if len(parse_values(text, isinstance(variant.params.get(name), list))) > 1:
                    raise BadArgument(
                        f"{name} = {text.strip()} is a list of values: click Sweep to run one variant per value, "
                        f"or give {name} a single value to replay."
                    )
                if name not in variant.params or variant.params[name] != value:
                    overrides[name] = value
            return self.replay(overrides, wait=wait)
        return None

    def replay(self, overrides: Mapping[str, Any] | None = None, wait: bool = False) -> Job | None:
        """Run the selected variant again with ``overrides``, in a worker process; select what it gives.

        Returns the running job (``wait=True``: the finished one). A failure
        leaves everything as it was and shows the user's traceback.
        """
        with self._action("run", "Replay"):
            variant = self._require_selected()
            overrides = dict(overrides or {})
            unknown = sorted(set(overrides) - set(variant.params))
            if unknown:
                known = ", ".join(sorted(variant.params)) or "none"
                raise BadArgument(f"{variant.name} has no parameter {', '.join(unknown)}; its parameters: {known}.")
            changed = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "its own parameters"
            steps = variant.steps.names() if hasattr(variant.steps, "names") else [s.step for s in variant.steps]
            progress = [{"step": s, "state": "running" if i == 0 else "pending", "detail": ""} for i, s in enumerate(steps)]
            return self._start("replay", f"the replay of {variant.workflow}/{variant.name} with {changed}", variant, {"params": overrides}, progress, wait)
        return None

    def sweep_form(self, texts: Mapping[str, str], wait: bool = False, backend: str = "loky") -> Job | None:
        """Sweep the selected variant over the form: a field with several values (``3, 5, 7``) is swept."""
        with self._action("run", "Sweep"):
            grid = self.grid_from_form(texts)
            if not grid:
                raise BadArgument("Give some parameter several values to sweep, e.g. window = 3, 5, 7 (or a JSON list).")
            return self.sweep(grid, wait=wait, backend=backend)
        return None

    def grid_from_form(self, texts: Mapping[str, str]) -> dict[str, list[Any]]:
        """The swept parameters of a form: each field holding more than one value."""
        variant = self._require_selected()
        grid = {}
        for name, text in texts.items():
            values = parse_values(text, isinstance(variant.params.get(name), list))
            if isinstance(variant.params.get(name), str):  # a string parameter: `1, 2` are the texts "1" and "2"
                values = [value if isinstance(value, str) else json.dumps(value) for value in values]
            if len(values) > 1:
                grid[name] = values
        return grid

    def sweep(self, grid: Mapping[str, list[Any]], wait: bool = False, backend: str = "loky") -> Job | None:
        """Replay the selected variant at every point of ``grid`` in a worker process (its points in parallel)."""
        from wfnb.history.sweeps import grid_points

        with self._action("run", "Sweep"):
            variant = self._require_selected()
            total = len(grid_points(grid, variant.params))
            over = ", ".join(f"{name} ∈ {{{', '.join(map(_short, values))}}}" for name, values in grid.items())
            progress = [{"step": "points", "state": "running", "detail": f"0 of {total}", "fraction": 0.0}]
            task = {"grid": {k: list(v) for k, v in grid.items()}, "backend": backend}
            return self._start("sweep", f"the sweep of {variant.workflow}/{variant.name} over {over} ({total} points)", variant, task, progress, wait)
        return None

    def check(self, wait: bool = False) -> Job | None:
        """Run the selected variant's steps again, without the cache, in a worker process: a step whose outputs
        differ from the recorded ones is marked nondeterministic (``wfnb.replay(ref, check=True)``)."""
        with self._action("run", "Check"):
            variant = self._require_selected()
            steps = variant.steps.names() if hasattr(variant.steps, "names") else [s.step for s in variant.steps]
            progress = [{"step": s, "state": "running" if i == 0 else "pending", "detail": ""} for i, s in enumerate(steps)]
            return self._start("check", f"the check of {variant.workflow}/{variant.name}", variant, {}, progress, wait)
        return None

    def cancel(self) -> None:
        """Stop the running replay or sweep; what it had completely written stays, nothing half-written."""
        job = self.job
        if job is not None and job.running:
            self._say("run", "info", f"Cancelling {job.label} …")
            job.cancel()

    def wait(self, timeout: float | None = None) -> Job | None:
        """Block until the running replay or sweep has ended and been reported."""
        return self.job.wait(timeout) if self.job is not None else None

    def _start(self, kind: JobKind, label: str, variant: RecordedVariant, task: dict[str, Any], progress: list[dict[str, Any]], wait: bool) -> Job:
        self._refuse_if_read_only(f"a {kind}")
        if self.job is not None and self.job.running:
            raise BadArgument(f"{self.job.label[0].upper()}{self.job.label[1:]} is still running; wait for it or cancel it first.")
        chosen = settings.current()
        task = {
            "kind": kind, "store": str(self.store.root), "workflow": variant.workflow, "number": variant.number,
            "storage_options": chosen.storage_options, "cache_dir": chosen.cache_dir, **task,
        }
        before = {ref for ref, row in self._rows.items() if row.workflow == variant.workflow}
        job = Job(kind, label, task, on_event=self._job_event, on_end=lambda j: self._job_ended(j, variant, before))
        self.job = job
        with self.hold_trait_notifications():
            self.progress = progress
            self.busy = True
        self._say("run", "info", f"Running {label} in the background: the notebook stays free. Cancel stops it.", keep=True)
        try:
            job.start()
        except OSError:  # no worker process could start: nothing runs, say why
            job.state = "failed"
            self.busy = False
            raise
        if wait:
            job.wait()
        return job

    def _job_event(self, job: Job, event: dict[str, Any]) -> None:
        if event["event"] == "step":
            self.progress = _step_done(self.progress, event)
        elif event["event"] == "point":
            done, total = event["done"], event["total"]
            self.progress = [{"step": "points", "state": "running" if done < total else "ran", "detail": f"{done} of {total}", "fraction": done / total}]
            changes.announce(self.store.root, f"workflows/{job.task['workflow']}/variants")  # open browsers list the point

    def _job_ended(self, job: Job, variant: RecordedVariant, before: set[str]) -> None:
        """Report how the job ended, next to its buttons; list and select what it made."""
        workflow = variant.workflow
        changes.announce(self.store.root, f"workflows/{workflow}/variants")  # what the worker wrote, for every open browser
        self.sync(workflow)
        made = [f"{workflow}/v{n}" for n in job.result.get("variants", [])]
        new = [ref for ref in made if ref not in before]
        try:
            if job.state == "done" and job.kind == "replay":
                self._replayed(job, made[0], new)
            elif job.state == "done" and job.kind == "check":
                self._checked(job, variant)
            elif job.state == "done":
                self._swept(job, made, new)
            elif job.state == "cancelled":
                self._cancelled(job, workflow, before)
            else:
                self._failed(job)
        finally:
            self.busy = False

    def _replayed(self, job: Job, ref: str, new: list[str]) -> None:
        if ref in self._variants:
            progress = self.progress
            self.selected = ref  # which clears what belonged to the previous selection: keep this run's steps
            self.progress = progress
        outcome = "a new variant" if new else "an existing variant (same code and parameters)"
        made = self.variant(ref)
        metrics = _metrics_text(made) if made is not None else ""
        self._say("run", "success", f"Finished {job.label} → {ref.split('/')[-1]}, {outcome}. {metrics}".rstrip())

    def _checked(self, job: Job, variant: RecordedVariant) -> None:
        """The worker marked the steps that differ, in the store: this kernel's hits must read the marks."""
        session = self.session
        if session is not None and str(session.store.root) == str(self.store.root):
            for record in variant.steps:
                session.runner.forget(record.key)
        differing = job.result.get("nondeterministic") or []
        failed = job.result.get("failed") or []
        unchecked = job.result.get("unchecked") or []
        self.progress = [{**e, "state": "failed" if e["step"] in differing + failed else e["state"]} for e in self.progress]
        advice = " Their cached results say so when restored; seed what they draw from to make them reproducible." if differing else ""
        if failed:
            advice += " A step that failed was not compared: replay the variant to see its traceback."
        elif unchecked:
            advice += " A step that could not be checked was not compared (each step's line says why)."
        self._say("run", "error" if differing or failed or unchecked else "success", f"{job.result.get('summary', 'Checked.')}.{advice}")

    def _swept(self, job: Job, made: list[str], new: list[str]) -> None:
        listed = [ref for ref in made if ref in self._variants]
        if len(listed) >= 2:
            self.ticked = list(dict.fromkeys(listed))
        names = ", ".join(ref.split("/")[-1] for ref in dict.fromkeys(made))
        failed = int(job.result.get("failed_points") or 0)
        if failed:
            self._say(
                "run", "error",
                f"Finished {job.label} → {names or 'no variant'} ({len(new)} new); {failed} point{'s' if failed != 1 else ''} "
                f"failed, listed as failed rows (status:failed): {job.result.get('first_error', '')}",
            )
            return
        self._say(
            "run", "success",
            f"Finished {job.label} → {names} ({len(new)} new). They are ticked for Compare; Plots › parallel shows how the metrics move.",
        )

    def _cancelled(self, job: Job, workflow: str, before: set[str]) -> None:
        kept = sorted((ref for ref, row in self._rows.items() if row.workflow == workflow and ref not in before and not row.failed), key=lambda r: self._rows[r].number)
        finished = [e["step"] for e in job.events if e["event"] == "step"]
        self.progress = [{**e, "detail": "cancelled"} if e["state"] in ("running", "pending") else e for e in self.progress]
        if job.kind == "replay":
            cached = f"; steps {', '.join(finished)} had finished and stay in the cache, so a replay restores them" if finished else ""
            recorded = f"it had recorded {', '.join(r.split('/')[-1] for r in kept)}" if kept else "no variant was recorded"
            self._say("run", "info", f"Cancelled {job.label}: {recorded}{cached}. The store is consistent: nothing half-written is visible.")
        else:
            points = f"{len(kept)} finished point{'s' if len(kept) != 1 else ''} ({', '.join(r.split('/')[-1] for r in kept)}) stay listed" if kept else "no point had finished"
            self._say("run", "info", f"Cancelled {job.label}: {points}; the running points were stopped. The store is consistent: nothing half-written is visible.")

    def _failed(self, job: Job) -> None:
        result = job.result
        if not result:
            self.progress = [{**e, "state": "failed" if e["state"] == "running" else e["state"]} for e in self.progress]
            last = job.stderr.strip().splitlines()[-1:] or ["it exited without a word"]
            self._say("run", "error", f"{job.label[0].upper()}{job.label[1:]} stopped unexpectedly: {last[0]}", job.stderr)
            return
        self.progress = _mark_failed(self.progress, result.get("step", ""))
        message, detail = result["message"], result.get("detail") or ""
        if detail:  # the notice shows the traceback under its message, not above it as a notebook does
            message = message.replace("its traceback is above", "its traceback is below")
        self._say("run", "error", message, detail)

    # -- restore, export, tag --------------------------------------------------

    def checkout(self) -> RecordedVariant | None:
        """Restore the selected variant into the notebook (``%wfnb checkout``): its values and its place."""
        with self._action("restore", "Restore"):
            self._refuse_if_read_only("restoring a variant")
            variant = self._require_selected()
            session = self.session
            if session is None:
                raise BadArgument(
                    "Restoring needs the notebook's kernel with wfnb loaded (%load_ext wfnb), and this browser "
                    f"has none. In the notebook, run: %wfnb checkout {variant.workflow}/{variant.name}"
                )
            if session.workflow != variant.workflow:
                raise BadArgument(
                    f"{variant.workflow}/{variant.name} belongs to workflow {variant.workflow}, but this notebook's "
                    f"workflow is {session.workflow}. Run %wfnb workflow {variant.workflow} first, or pick a variant of {session.workflow}."
                )
            restored = session.checkout(variant.name)
            self.sync(variant.workflow)
            differs = session.out_of_step()
            if not session.steps_run_here:  # after a restart: what the cells show is in the saved file
                cells = _saved_cells_differ(session, variant)
            elif differs:
                cells = f"{differs} Or click 'Write its cells' here: a new notebook with {variant.name}'s cells, beside this one."
            else:
                cells = f"The notebook's cells are {variant.name}'s."
            self._say("restore", "success", f"Restored {variant.workflow}/{variant.name} into the notebook: its values are in the namespace and it is the current variant. {cells}")
            return restored
        return None

    def write_cells(self) -> Path | None:
        """Write the selected variant's cells (``%%params``, ``%%step``, with their outputs) as a new notebook
        beside the notebook's own (else in the working folder); the notice links to it in JupyterLab."""
        from wfnb.frontends.browser.lablink import lab_url

        with self._action("restore", "Write cells"):
            variant = self._require_selected()
            if getattr(self, "read_only", False):  # wfnb ui (the merge with main brings the flag): only look
                raise BadArgument("This browser only looks (wfnb ui): writing a notebook on the server is refused. "
                                  "Start it with `wfnb ui --allow-runs` to allow it.")
            session = self.session
            path = session.origin.path if session is not None else None
            folder, stem = (path.parent, path.stem) if path is not None else (Path.cwd(), variant.workflow)
            target = folder / f"{stem}-{variant.name}.ipynb"
            count = 2
            while target.exists():  # never over a file: the user may have edited an earlier one
                target, count = folder / f"{stem}-{variant.name}-{count}.ipynb", count + 1
            Variant.of(variant).to_notebook(str(target))
            beside = f"beside {path.name}" if path is not None else f"in {folder}"
            link = lab_url(target) or ""
            how = "Open it with the link." if link else f"Open {target} in your editor."
            self._say("restore", "success", f"Wrote the cells of {variant.workflow}/{variant.name} to {target.name}, {beside}. {how}", link=link, link_text=f"open {target.name}")
            return target
        return None

    def export(self, path: str, overwrite: bool = False) -> Path | None:
        """Write the selected variant to ``path``: .ipynb (notebook), .py (script) or .csv (steps table)."""
        with self._action("export", "Export"):
            self._refuse_if_read_only("exporting (it writes a file on the server)")
            variant = self._require_selected()
            target = Path(path.strip()).expanduser()
            if not path.strip():
                raise BadArgument("Give a path to export to, e.g. analysis-v3.ipynb (also .py or .csv).")
            if target.suffix not in EXPORT_FORMATS:
                raise BadArgument(f"The export path {path!r} ends with {target.suffix or 'no suffix'!r}; use .ipynb (a notebook), .py (a script) or .csv (the steps as a table).")
            if not target.parent.is_dir():
                raise BadArgument(f"The folder {target.parent} does not exist; create it or choose another path.")
            if target.exists() and not overwrite:
                raise BadArgument(f"{target} already exists; tick 'overwrite' or choose another path.")
            method, kind = EXPORT_FORMATS[target.suffix]
            getattr(Variant.of(variant), method)(str(target))
            written = target.absolute()
            self._say("export", "success", f"Exported {variant.workflow}/{variant.name} as a {kind} to {written}.")
            return written
        return None

    def tag(self, name: str, note: str = "") -> RecordedVariant | None:
        """Name the selected variant (unique in its workflow), with an optional note."""
        with self._action("tag", "Tag"):
            self._refuse_if_read_only("tagging")
            variant = self._require_selected()
            if not name.strip():
                raise BadArgument("Give the tag a name, e.g. baseline.")
            tag_variant(self.store, variant, name.strip(), note.strip() or None)
            if not self.live:  # live, the tag's notice has already been read
                self._read_workflow(variant.workflow)
                self._mark_dirty()
            self._say("tag", "success", f"Tagged {variant.workflow}/{variant.name} as {name.strip()}" + (f" ({note.strip()})." if note.strip() else "."))
            return self.variant()
        return None

    def pin(self, pinned: bool = True, note: str = "") -> RecordedVariant | None:
        """Pin the selected variant (``wfnb gc`` keeps what it needs), or unpin it."""
        from wfnb.history.snapshots import pin_variant, unpin_variant

        with self._action("tag", "Pin" if pinned else "Unpin"):
            self._refuse_if_read_only("pinning")
            variant = self._require_selected()
            if pinned:
                pin_variant(self.store, variant, note.strip() or None)
            elif not unpin_variant(self.store, variant):
                raise BadArgument(f"{variant.workflow}/{variant.name} is not pinned.")
            if not self.live:  # live, the pin's notice has already been read
                self._read_workflow(variant.workflow)
                self._mark_dirty()
            what = "Pinned" if pinned else "Unpinned"
            effect = "wfnb gc keeps everything it needs." if pinned else "wfnb gc may let its values go again."
            self._say("tag", "success", f"{what} {variant.workflow}/{variant.name}: {effect}")
            return self.variant()
        return None

    # -- notices ---------------------------------------------------------------

    def notice(self, action: str) -> dict[str, str]:
        """The last result of ``action`` ({} when there is none): ``kind``, ``text``, ``detail``."""
        return dict(self.notices.get(action, {}))

    def dismiss(self, action: str) -> None:
        """Let an action's result go (its × button)."""
        if action in self.notices:
            self.notices = {key: value for key, value in self.notices.items() if key != action}

    def clear_finished(self) -> None:
        """Forget results and progress that belong to the previous selection (a running job's stay)."""
        running = self.job is not None and self.job.running
        kept = {key: value for key, value in self.notices.items() if key == "run" and running}
        if kept != self.notices:
            self.notices = kept
        if not running and self.progress:
            self.progress = []

    def _refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise BadArgument(
                f"This browser only looks: {what} is off, because it runs code or writes to the store and the page "
                "may be open to others. Start it with `wfnb ui --allow-runs` (or wfnb.browse(read_only=False)) to allow it."
            )

    def _require_selected(self) -> RecordedVariant:
        variant = self.variant()
        if variant is None:
            raise BadArgument("No variant is selected; select one in the table first.")
        return variant

    @contextmanager
    def _action(self, action: str, what: str) -> Iterator[None]:
        """Run an action that reports, never raises: a wfnb error as its notice, anything else with its traceback."""
        try:
            yield
        except WfnbError as error:
            self._say(action, "error", str(error))
        except Exception as error:  # noqa: BLE001 - the browser must not break the notebook: show it where the user looks
            self._say(action, "error", f"{what} failed: {type(error).__name__}: {error}", traceback.format_exc())

    def _say(self, action: str, kind: str, text: str, detail: str = "", keep: bool = False, link: str = "", link_text: str = "") -> None:
        Actions._notice_count += 1
        stamp = Actions._notice_count
        notice = {"kind": kind, "text": text, "detail": detail, "stamp": stamp}
        if link:
            notice.update(link=link, link_text=link_text or link)
            keep = True  # a link is there to be clicked: it stays until dismissed
        self.notices = {**self.notices, action: notice}
        if kind != "error" and not keep and NOTICE_SECONDS > 0:
            timer = threading.Timer(NOTICE_SECONDS, self._expire, (action, stamp))
            timer.daemon = True
            timer.start()

    def _expire(self, action: str, stamp: int) -> None:
        if self.notices.get(action, {}).get("stamp") == stamp:
            self.dismiss(action)

    # provided by BrowserState
    _rows: dict[str, Any]
    _variants: dict[str, Any]


def _saved_cells_differ(session: Any, variant: Variant) -> str:
    """After a kernel restart (nothing ran yet): which cells of the saved notebook differ from the variant's."""
    from wfnb.frontends.browser.notebookcells import differing_steps

    path = session.origin.path
    found = differing_steps(path, variant) if path is not None else None
    write = f"'Write its cells' makes a new notebook with {variant.name}'s cells, beside this one."
    if found is None:
        return f"This kernel has run no step yet, so wfnb cannot tell which of the notebook's cells differ from {variant.name}'s; {write}"
    other, missing = found
    if not other and not missing:
        return f"The saved notebook's %%step cells are {variant.name}'s (its %%params cell may differ: {variant.name} has {_params_text(variant)})."
    parts = [f"the code of step{'s' if len(other) > 1 else ''} {', '.join(other)}"] if other else []
    parts += [f"no cell for step{'s' if len(missing) > 1 else ''} {', '.join(missing)}"] if missing else []
    return f"The saved {path.name} shows other cells than {variant.name}: {'; '.join(parts)}. Running them leaves {variant.name} again. {write}"


def _params_text(variant: Variant) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in variant.params.items()) or "no parameters"


def parse_value(text: str) -> Any:
    """A form field: JSON (``7``, ``"rbf"``, ``[1, 2]``), else the plain text as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()


def parse_values(text: str, list_valued: bool = False) -> list[Any]:
    """A sweep field: ``3, 5, 7`` or ``[3, 5, 7]`` is three values; one value (``"a, b"`` quoted) is one."""
    try:
        value = json.loads(text)
    except ValueError:
        parts = [part for part in text.split(",") if part.strip()]
        return [parse_value(part) for part in parts] if len(parts) > 1 else [text.strip()]
    return value if isinstance(value, list) and not list_valued else [value]


def _step_done(progress: list[dict[str, Any]], event: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [dict(entry) for entry in progress]
    for entry in entries:
        if entry["step"] == event["step"] and entry["state"] in ("running", "pending"):
            entry.update(state="cached" if event["cached"] else "ran", detail=event["text"])
            break
    following = next((e for e in entries if e["state"] == "pending"), None)
    if following is not None:
        following["state"] = "running"
    return entries


def _mark_failed(progress: list[dict[str, Any]], step: str) -> list[dict[str, Any]]:
    entries = [dict(entry) for entry in progress]
    for entry in entries:
        if entry["state"] == "running" or (entry["step"] == step and entry["state"] != "cached"):
            entry.update(state="failed", detail="failed")
        elif entry["state"] == "pending":
            entry["detail"] = "not run"
    return entries


def _metrics_text(variant: RecordedVariant) -> str:
    shown = [f"{name} = {table.format_value(value)}" for name, value in list(variant.metrics.items())[:8]]
    return ("Metrics: " + ", ".join(shown) + ".") if shown else ""


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 20 else text[:17] + "…"
