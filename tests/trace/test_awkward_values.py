"""Values whose own code gets in the way of hashing, storing or loading them: whatever fails,
the step runs (and says why); it never raises an error a plain cell would not, nor gets stuck."""

from __future__ import annotations

import sys

MASKED = """
import numpy as np
photo = np.ma.masked_array(np.arange(12, dtype=np.uint8).reshape(3, 4), mask=np.arange(12).reshape(3, 4) % 5 == 0)
depth = np.ma.masked_array(np.arange(6, dtype=np.int16), mask=[0, 1, 0, 0, 1, 0])
"""


def test_masked_small_integer_arrays_hash_and_restore_like_any_array(lab):
    """What matplotlib keeps after ``ax.imshow`` of a photo: a masked uint8 array (its default fill
    value, 999999, does not fit the dtype)."""
    step = "%%step shade\nbrighter = photo + 1\ndeeper = depth * 2\nbrighter.fill_value\ntotal = int(brighter.sum() + deeper.sum())"
    session = lab.run([MASKED, step])
    assert session.last.ran, session.last.status
    assert session.value("total") == lab.plain([MASKED, step]).value("total")
    again = lab.run([MASKED, step])
    assert again.last.cached, again.last.status
    plain = lab.plain([MASKED, step])
    for expression in ("total", "brighter.fill_value", "repr(brighter)", "repr(deeper)", "deeper.mask.tolist()"):
        assert again.value(expression) == plain.value(expression), expression


ATTRDICT = """
class AttrDict(dict):
    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__

cfg = AttrDict(rate=0.5, epochs=3)
"""


def test_an_attribute_style_config_is_an_input_like_a_dict(lab):
    """``cfg.rate`` on a dict whose ``__getattr__`` raises KeyError, not AttributeError."""
    step = "%%step train\nscore = cfg.rate * cfg.epochs\nprint(score)"
    session = lab.run([ATTRDICT, step])
    assert session.last.ran and session.last.stdout == "1.5\n", session.last.status
    again = lab.run([ATTRDICT, step])
    assert again.last.cached and again.last.stdout == "1.5\n", again.last.status
    edited = lab.run([ATTRDICT.replace("epochs=3", "epochs=4"), step])
    assert edited.last.ran and edited.last.stdout == "2.0\n", edited.last.status
    assert "cfg" in edited.last.status


LAZY = """
class Lazy:
    def __init__(self):
        self.data = {'a': 1}
    def __getattr__(self, key):
        return self.data[key]
"""


def test_an_object_that_cannot_be_loaded_back_runs_again_instead_of_breaking_the_step(lab):
    """Unpickling calls ``__getattr__('__setstate__')`` before ``data`` exists: RecursionError. Such an
    output is never stored, so no later session's hit fails on it; the step runs and says why."""
    step = "%%step make\nlz = Lazy()\nprint(lz.a)"
    session = lab.run([LAZY, step])
    assert session.last.ran and session.last.stdout.startswith("1\n")
    assert "lz cannot be stored" in session.last.status
    # Python 3.10 asks __getattr__ for __getstate__ already when the value is hashed (3.11 added object.__getstate__)
    why = "loading it back fails" if sys.version_info >= (3, 11) else "cannot be hashed"
    assert why in session.last.stderr, session.last.stderr
    again = lab.run([LAZY, step])
    assert again.last.ok and again.last.ran and again.last.stdout.startswith("1\n"), again.last.status
    assert again.value("lz.a") == "1"


def test_a_class_whose_instance_was_stored_is_not_an_edited_input(lab):
    """Pickling an instance makes copyreg add ``__slotnames__`` to its class: not a change of the class."""
    cls = "class Point:\n    def __init__(self, x):\n        self.x = x"
    step = "%%step make\np = Point(3)\ntotal = p.x + 1"
    session = lab.run([cls, step])
    session.run(step)
    assert session.last.cached, session.last.status


def test_a_trailing_semicolon_decides_what_a_hit_shows_as_a_plain_cell_would(lab):
    """``total;`` hides the value, ``total`` shows it: a hit shows what the cell as it is now would."""
    shown = "%%step sum\ntotal = 40 + 2\ntotal"
    hidden = shown + ";"
    session = lab.run([hidden])
    assert session.last.displays == []
    session.run(shown)
    assert [d["text/plain"] for d in session.last.displays] == ["42"], session.last.status
    session.run(hidden)
    assert session.last.cached and session.last.displays == [], session.last.status
    session.run(shown)
    assert session.last.cached and [d["text/plain"] for d in session.last.displays] == ["42"], session.last.status


def test_editing_only_a_helpers_docstring_re_runs_none_of_its_callers(lab):
    helper = 'def scale(x):\n    """Double it."""\n    return 2 * x'
    step = "%%step use\ny = scale(21)"
    session = lab.run([helper, step])
    assert session.value("y") == "42"
    session.run(helper.replace('"""Double it."""', '"""Double it,\n    for the plot."""'))
    session.run(step)
    assert session.last.cached, session.last.status
    session.run(helper.replace("2 * x", "3 * x"))
    session.run(step)
    assert session.last.ran and session.value("y") == "63", session.last.status
