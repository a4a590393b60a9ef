"""Clicks in the browser's own HTML (table rows, headers, plot points) back to Python, with no extra library.

The table and the plots are each one HTML widget: one model for the page
instead of one per cell, which is what makes a thousand variants paint at
once. An element that acts carries ``data-wfnb="action|argument"``; one
handler on its container (``on_click_attribute``) writes that, with a counter
so that the same click twice still counts, into a hidden text field of the
same browser, and ipywidgets sends the field's value to the kernel like any
typing. ``Bridge`` turns it back into ``(action, argument)``.

ipywidgets renders an HTML widget's value as it is (no sanitizer strips the
handler) in JupyterLab, Notebook 7 and Voila alike; the end-to-end tests click
through it in JupyterLab and Voila.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

FIELD_CLASS = "wfnb-events"  # the hidden text field of one browser
_SEPARATOR = "|"

# One statement, on the container: find the acting element, then the field of the same browser.
_HANDLER = (
    "var t=event.target.closest('[data-wfnb]');"
    "if(!t||!this.contains(t))return;"
    "var b=this.closest('.wfnb-browser'),i=b&&b.querySelector('." + FIELD_CLASS + " input');"
    "if(!i)return;"
    "event.preventDefault();"
    "i.value=(Date.now()%1000000)+'" + _SEPARATOR + "'+t.getAttribute('data-wfnb');"
    "i.dispatchEvent(new Event('input',{bubbles:true}));"
)
_KEYS = "if(event.key==='Enter'||event.key===' '){" + _HANDLER + "}"


def on_click_attribute() -> str:
    """The attributes for a container of acting elements: clicks, and Enter or Space on a focused one."""
    return f'onclick="{escape(_HANDLER)}" onkeydown="{escape(_KEYS)}"'


def act(action: str, argument: str = "") -> str:
    """The attribute that makes an element act: ``data-wfnb="select|demo/v3"`` (focusable)."""
    return f'data-wfnb="{escape(action + _SEPARATOR + argument)}" tabindex="0"'


def decode(value: str) -> tuple[str, str] | None:
    """``(action, argument)`` from the field's value ``"<counter>|action|argument"``; None if malformed."""
    parts = value.split(_SEPARATOR, 2)
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return parts[1], parts[2]


class Bridge:
    """Routes decoded clicks to handlers by action name; unknown actions are ignored."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[str], None]] = {}

    def on(self, action: str, handler: Callable[[str], None]) -> None:
        self.handlers[action] = handler

    def receive(self, value: str) -> None:
        decoded = decode(value)
        if decoded is not None and decoded[0] in self.handlers:
            self.handlers[decoded[0]](decoded[1])

    def send(self, action: str, argument: str = "") -> None:
        """What a click does, from Python (tests, scripts)."""
        self.receive(f"0{_SEPARATOR}{action}{_SEPARATOR}{argument}")
