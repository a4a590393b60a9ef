"""What the browser does to the selected variant: replay, restore into the notebook, export, tag.

A mixin of ``BrowserState``: each action goes through the public verbs
(``replay`` with a per-step progress callback, ``Session.checkout``, the
``Variant.to_*`` writers, tags) and never raises. It reports success or a clear
error in the state's ``message`` traits; a failed replay also carries the
user's own traceback, and leaves the store, the selection and the notebook as
they were.
"""

from __future__ import annotations

import json
import traceback
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from wfnb.browser import table
from wfnb.errors import BadArgument, StepFailed, WfnbError
from wfnb.hosts import format_user_traceback
from wfnb.snapshots import tag_variant

if TYPE_CHECKING:
    from wfnb.report import StepReport
    from wfnb.snapshots import Variant

EXPORT_FORMATS = {".ipynb": ("to_notebook", "notebook"), ".py": ("to_script", "script"), ".csv": ("to_csv", "CSV table")}


class Actions:
    """The actions of ``BrowserState`` (which defines the traits and ``variant()`` they use)."""

    def replay_form(self, texts: Mapping[str, str]) -> Variant | None:
        """Replay the selected variant with the form's values (JSON, or plain text for a string)."""
        variant = self.variant()
        overrides = {}
        for name, text in texts.items():
            value = _parse_value(text)
            if variant is None or name not in variant.params or variant.params[name] != value:
                overrides[name] = value
        return self.replay(overrides)

    def replay(self, overrides: Mapping[str, Any] | None = None) -> Variant | None:
        """Run the selected variant again with ``overrides``; select the variant it gives.

        A failure leaves everything as it was (no variant, same selection, the
        notebook untouched) and shows the user's traceback in ``message_detail``.
        """
        from wfnb.replayer import replay

        made = None
        with self._action(f"Replaying {self.selected}"):
            variant = self._require_selected()
            steps = [record.step for record in variant.steps]
            self.progress = [{"step": s, "state": "running" if i == 0 else "pending", "detail": ""} for i, s in enumerate(steps)]
            before = set(self._variants)
            printed = StringIO()
            try:
                with redirect_stdout(printed), redirect_stderr(printed):
                    made = replay(variant, progress=self._step_done, **dict(overrides or {}))
            except StepFailed as failure:
                failed = self._mark_failed()
                self._say("error", str(failure), user_traceback(failure, failed) or printed.getvalue())
                return None
            except WfnbError:  # refused before any step ran (an unknown or unacceptable parameter)
                self.progress = []
                raise
            self.refresh()
            ref = f"{made.workflow}/{made.name}"
            self.selected = ref
            changes = ", ".join(f"{k}={v!r}" for k, v in (overrides or {}).items()) or "its own parameters"
            outcome = "a new variant" if ref not in before else "an existing variant (same code and parameters)"
            self._say("success", f"Replayed {variant.name} with {changes} → {made.name}, {outcome}. {_metrics_text(made)}")
        return made

    def _step_done(self, report: StepReport) -> None:
        kind = "cached" if report.parts and report.parts[0] == "cached" else "ran"
        progress = [dict(entry) for entry in self.progress]
        for entry in progress:
            if entry["step"] == report.step and entry["state"] in ("running", "pending"):
                entry.update(state=kind, detail=" · ".join(report.parts))
                break
        following = next((e for e in progress if e["state"] == "pending"), None)
        if following is not None:
            following["state"] = "running"
        self.progress = progress

    def _mark_failed(self) -> str:
        progress = [dict(entry) for entry in self.progress]
        failed = next((e for e in progress if e["state"] == "running"), None)
        if failed is not None:
            failed.update(state="failed", detail="failed")
        for entry in progress:
            if entry["state"] == "pending":
                entry["detail"] = "not run"
        self.progress = progress
        return failed["step"] if failed else ""

    def checkout(self) -> Variant | None:
        """Restore the selected variant into the notebook (``%wfnb checkout``): its values and its place."""
        restored = None
        with self._action(f"Restoring {self.selected}"):
            variant = self._require_selected()
            session = self._session
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
            self.refresh()
            self._say("success", f"Restored {variant.workflow}/{variant.name} into the notebook: its values are in the namespace and it is the current variant.")
        return restored

    def export(self, path: str, overwrite: bool = False) -> Path | None:
        """Write the selected variant to ``path``: .ipynb (notebook), .py (script) or .csv (steps table)."""
        written = None
        with self._action(f"Exporting {self.selected}"):
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
            getattr(variant, method)(str(target))
            written = target.absolute()
            self._say("success", f"Exported {variant.workflow}/{variant.name} as a {kind} to {written}.")
        return written

    def tag(self, name: str, note: str = "") -> Variant | None:
        """Name the selected variant (unique in its workflow), with an optional note."""
        tagged = None
        with self._action(f"Tagging {self.selected}"):
            variant = self._require_selected()
            if not name.strip():
                raise BadArgument("Give the tag a name, e.g. baseline.")
            tag_variant(self.store, variant, name.strip(), note.strip() or None)
            self.refresh()
            tagged = self.variant()
            self._say("success", f"Tagged {variant.workflow}/{variant.name} as {name.strip()}" + (f" ({note.strip()})." if note.strip() else "."))
        return tagged

    def _require_selected(self) -> Variant:
        variant = self.variant()
        if variant is None:
            raise BadArgument("No variant is selected; select one in the table first.")
        return variant

    @contextmanager
    def _action(self, what: str) -> Iterator[None]:
        """Run an action that reports, never raises: a wfnb error as its message, anything else with its traceback."""
        self.busy = True
        self._say("info", f"{what} …")
        try:
            yield
        except WfnbError as error:
            self._say("error", str(error))
        except Exception as error:  # the browser must not break the notebook: show it where the user looks
            self._say("error", f"{what} failed: {type(error).__name__}: {error}", traceback.format_exc())
        finally:
            self.busy = False

    def _say(self, kind: str, text: str, detail: str = "") -> None:
        with self.hold_trait_notifications():
            self.message_kind, self.message, self.message_detail = kind, text, detail


def user_traceback(error: BaseException, step: str) -> str:
    """The traceback of the user's own exception behind a failed step (chained to wfnb's error)."""
    cause: BaseException | None = error
    while cause is not None and isinstance(cause, WfnbError):
        cause = cause.__cause__ or cause.__context__
    return format_user_traceback(cause, step).rstrip("\n") if cause is not None else ""


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _metrics_text(variant: Variant) -> str:
    shown = [f"{name} = {table.format_value(value)}" for name, value in list(variant.metrics.items())[:8]]
    return ("Metrics: " + ", ".join(shown) + ".") if shown else ""
