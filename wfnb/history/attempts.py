"""Failed attempts: a replay or a sweep's point whose step failed leaves no variant, but a note.

A failure is worth as much as a success when choosing parameters ("lr=1.0
diverges"), so each one is kept as a small ref,
``refs/workflows/<workflow>/failed/<time>-<token>``: the parameters tried, the
variant replayed, the step that failed, its error in one line, and when. The
browser lists them as dimmed ``failed`` rows. A read-only store keeps none; a
note that cannot be written never hides the step's own error.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from wfnb.errors import WfnbError

if TYPE_CHECKING:
    from wfnb.store import Store

ATTEMPT_FORMAT = 1  # bump when a field changes meaning; notes of another format are skipped
ERROR_LENGTH = 300  # characters of the error kept (its first line, shortened)


@dataclass(frozen=True)
class FailedAttempt:
    """One failed run of a workflow's steps, as noted in the store."""

    workflow: str
    ident: str  # the ref's last part: sorts by time, unique
    params: Mapping[str, Any]
    step: str
    error: str
    at: str  # ISO time, UTC
    replayed: int | None = None  # the variant whose steps ran (None: steps from elsewhere)
    label: str = ""  # "replay of demo/v1", for messages

    @property
    def ref(self) -> str:
        return f"{self.workflow}/failed/{self.ident}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ATTEMPT_FORMAT, "workflow": self.workflow, "params": dict(self.params), "step": self.step,
            "error": self.error, "at": self.at, "replayed": self.replayed, "label": self.label,
        }

    @classmethod
    def from_json(cls, ident: str, data: Any) -> FailedAttempt | None:
        if not isinstance(data, dict) or data.get("format") != ATTEMPT_FORMAT:
            return None
        params, replayed = data.get("params"), data.get("replayed")
        if not isinstance(params, dict) or not (replayed is None or isinstance(replayed, int)):
            return None
        texts = [data.get(name) for name in ("workflow", "step", "error", "at", "label")]
        if not all(isinstance(text, str) for text in texts):
            return None
        workflow, step, error, at, label = texts
        return cls(workflow, ident, params, step, error, at, replayed, label)  # type: ignore[arg-type]


def attempts_prefix(workflow: str) -> str:
    return f"workflows/{workflow}/failed"


def note_failure(
    store: Store, workflow: str, params: Mapping[str, Any], step: str, error: str, replayed: int | None, label: str
) -> FailedAttempt | None:
    """Keep a note of a failed attempt; None when the store cannot take it (read-only, failing)."""
    if store.read_only:
        return None
    first = (error.strip().splitlines() or [""])[0]
    attempt = FailedAttempt(
        workflow=workflow,
        ident=f"{time.time_ns():020d}-{secrets.token_hex(3)}",
        params=dict(params),
        step=step,
        error=first if len(first) <= ERROR_LENGTH else first[: ERROR_LENGTH - 1] + "…",
        at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        replayed=replayed,
        label=label,
    )
    try:
        store.refs.create(f"{attempts_prefix(workflow)}/{attempt.ident}", attempt.to_json())
    except (WfnbError, TypeError, ValueError):  # parameters that are not JSON, a store that refuses: no note
        return None
    return attempt


def failed_attempts(store: Store, workflow: str) -> list[FailedAttempt]:
    """The workflow's failed attempts, oldest first (damaged or unknown notes skipped)."""
    found = []
    for name in store.refs.names(attempts_prefix(workflow)):
        ident = name.rsplit("/", 1)[-1]
        try:
            attempt = FailedAttempt.from_json(ident, store.refs.read(name))
        except WfnbError:
            continue
        if attempt is not None:
            found.append(attempt)
    return sorted(found, key=lambda a: a.ident)


def read_attempt(store: Store, workflow: str, ident: str) -> FailedAttempt | None:
    try:
        return FailedAttempt.from_json(ident, store.refs.read(f"{attempts_prefix(workflow)}/{ident}"))
    except WfnbError:
        return None
