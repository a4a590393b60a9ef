"""Clicks in the browser's own HTML (table rows, headers, plot points) back to Python, with no extra library.

The table and the plots are each one HTML widget: one model for the page
instead of one per cell, which is what makes a thousand variants paint at
once. An element that acts carries ``data-wfnb="action|argument"``; one
handler on its container (``on_click_attribute``) writes that, with a counter
so that the same click twice still counts, into a hidden text field of the
same browser, and ipywidgets sends the field's value to the kernel like any
typing. ``Bridge`` turns it back into ``(action, argument)``.

A range dragged on a plot comes back the same way (``on_brush_attribute``):
the plot marks each draggable zone with its axes' scales, the handler turns
the drag's ends into values and sends ``brush|{"param:lr": [0.01, 0.1]}``.
A ``<summary>`` that acts still opens its ``<details>`` at once, in the page.

ipywidgets renders an HTML widget's value as it is (no sanitizer strips the
handler) in JupyterLab, Notebook 7 and Voila alike; the end-to-end tests click
through it in JupyterLab and Voila.
"""

from __future__ import annotations

import json
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
    "if(t.tagName!=='SUMMARY')event.preventDefault();"
    "i.value=(Date.now()%1000000)+'" + _SEPARATOR + "'+t.getAttribute('data-wfnb');"
    "i.dispatchEvent(new Event('input',{bubbles:true}));"
)
# A drag on a zone marked data-wfnb-brush='[{"key","dir":"x"|"y","p0","p1","lo","hi","log","cats"}]':
# a rectangle follows the pointer; on release each axis' pixel range becomes values (a click: null, let go).
_BRUSH = (
    "var z=event.target.closest('[data-wfnb-brush]');"
    "if(!z||event.button!==0||!this.contains(z))return;"
    "var b=this.closest('.wfnb-browser'),i=b&&b.querySelector('." + FIELD_CLASS + " input');"
    "if(!i)return;"
    "event.preventDefault();"
    "var svg=z.ownerSVGElement,m=svg.getScreenCTM().inverse(),axes=JSON.parse(z.getAttribute('data-wfnb-brush'));"
    "var at=function(e){var p=svg.createSVGPoint();p.x=e.clientX;p.y=e.clientY;return p.matrixTransform(m);};"
    "var a=at(event),zb=z.getBBox(),r=document.createElementNS('http://www.w3.org/2000/svg','rect');"
    "r.setAttribute('class','wfnb-brushing');svg.appendChild(r);"
    "var xy=function(c){var h=axes.some(function(s){return s.dir==='x';}),v=axes.some(function(s){return s.dir==='y';});"
    "var x0=h?Math.min(a.x,c.x):zb.x,x1=h?Math.max(a.x,c.x):zb.x+zb.width,y0=v?Math.min(a.y,c.y):zb.y,y1=v?Math.max(a.y,c.y):zb.y+zb.height;"
    "r.setAttribute('x',x0);r.setAttribute('y',y0);r.setAttribute('width',x1-x0);r.setAttribute('height',y1-y0);};"
    "var value=function(s,p){var t=(p-s.p0)/(s.p1-s.p0);"
    "return s.log?Math.pow(10,Math.log10(s.lo)+t*(Math.log10(s.hi)-Math.log10(s.lo))):s.lo+t*(s.hi-s.lo);};"
    "var move=function(e){xy(at(e));};"
    "var up=function(e){document.removeEventListener('pointermove',move);document.removeEventListener('pointerup',up);r.remove();"
    "var c=at(e),out={};axes.forEach(function(s){var u=s.dir==='x'?a.x:a.y,w=s.dir==='x'?c.x:c.y;"
    "if(Math.abs(w-u)<3){out[s.key]=null;return;}"
    "var lo=Math.min(u,w),hi=Math.max(u,w);"
    "if(s.cats){var step=(s.p1-s.p0)/s.cats.length;"
    "out[s.key]={in:s.cats.filter(function(_,k){var p=s.p0+step*(k+0.5);return p>=lo&&p<=hi;})};}"
    "else{out[s.key]=[value(s,lo),value(s,hi)].sort(function(p,q){return p-q;});}});"
    "i.value=(Date.now()%1000000)+'" + _SEPARATOR + "brush" + _SEPARATOR + "'+JSON.stringify(out);"
    "i.dispatchEvent(new Event('input',{bubbles:true}));};"
    "document.addEventListener('pointermove',move);document.addEventListener('pointerup',up);"
)
_KEYS = "if(event.key==='Enter'||event.key===' '){" + _HANDLER + "}"


def on_click_attribute() -> str:
    """The attributes for a container of acting elements: clicks, and Enter or Space on a focused one."""
    return f'onclick="{escape(_HANDLER)}" onkeydown="{escape(_KEYS)}"'


def on_brush_attribute() -> str:
    """The attribute for a plot whose zones (``brush_zone``) can be dragged across to filter by a range."""
    return f'onpointerdown="{escape(_BRUSH)}"'


def brush_zone(axes: list[dict[str, object]]) -> str:
    """The attribute that makes an SVG element a draggable zone over ``axes`` (see ``_BRUSH``)."""
    return f"data-wfnb-brush=\"{escape(json.dumps(axes, separators=(',', ':')))}\""


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
