"""Equal sets of numbers can iterate in different orders (``{1, 9}`` built from 9 first lists
``[9, 1]``): every plain run repeats the order, so a step that lists a set must see a change of
order, and a restored set must iterate as the one its step made."""

from __future__ import annotations

from tests.trace.test_more_habits import hit_like_plain

BUILD = "%%step make\ns = set()\nfor x in ORDER:\n    s.add(x)"
USE = "%%step use\nseen = list(s)"


def test_a_step_listing_a_set_runs_again_when_only_the_order_changed(lab):
    session = lab.run(["ORDER = [9, 1]", BUILD, USE])
    assert session.value("seen") == "[9, 1]"
    session.run("ORDER = [1, 9]")
    session.run(BUILD)
    session.run(USE)
    assert session.last.ran, session.last.status
    assert session.value("seen") == "[1, 9]"


def test_a_restored_set_iterates_as_the_one_its_step_made(lab):
    """63, 97 and 57 share slots of an 8-slot table: added in this order they list as [97, 57, 63],
    rebuilt from that list (what pickle does) as [97, 63, 57]."""
    cells = ["ORDER = [63, 97, 57]", BUILD, USE]
    first = lab.run(cells)
    assert first.value("seen") == "[97, 57, 63]"
    hit_like_plain(lab, cells, ["list(s)", "seen", "s == {57, 63, 97}"])



def test_a_set_a_step_fills_in_place_comes_back_in_its_order(lab):
    """Poured back into the set the notebook holds (``alias`` sees it), in the order a run leaves."""
    cells = ["s = set()\nfor x in [63, 97, 139, 26, 146, 3, 187, 55, 104]:\n    s.add(x)\nalias = s", "%%step grow\nfor x in [71, 46, 196, 99, 40, 195, 18]:\n    s.add(x)"]
    hit_like_plain(lab, cells, ["list(s)", "list(alias)", "alias is s"])
