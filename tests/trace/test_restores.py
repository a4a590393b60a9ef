"""Restores that are equal and the same: shared references, views, in-place changes, array flags, files."""

from __future__ import annotations


def twice(lab, cells):
    """Run twice in fresh kernels; the second session (every step a hit) is returned."""
    lab.run(cells)
    session = lab.run(cells)
    assert all(cell.cached for cell in session.cells if cell.statuses), [c.status for c in session.cells]
    return session


def test_two_outputs_that_shared_a_list_still_share_it(lab):
    session = twice(lab, ["%%step make\na = [1]\nb = {'x': a}\nc = (a, a)"])
    assert session.value("b['x'] is a and c[0] is a and c[1] is a") == "True"


def test_an_output_taken_from_an_input_is_still_part_of_it(lab):
    cells = ["d = {'a': [1, 2]}\np = [0]", "%%step pick\nsub = d['a']\nps = [[1], p]"]
    session = twice(lab, cells)
    assert session.value("sub is d['a'] and ps[1] is p") == "True"


def test_a_view_of_an_input_array_is_still_a_view(lab):
    cells = ["import numpy as np\narr = np.arange(6)", "%%step view\nsub = arr[2:4]"]
    session = twice(lab, cells)
    session.run("sub[0] = 99")
    assert session.value("int(arr[2])") == "99"


def test_a_view_of_an_output_array_is_still_a_view(lab):
    session = twice(lab, ["%%step views\nimport numpy as np\nbase = np.arange(6)\nhead = base[:3]"])
    session.run("head[0] = 99")
    assert session.value("int(base[0])") == "99"


def test_a_change_through_a_container_input_reaches_the_objects_the_notebook_holds(lab):
    cells = [
        "box = [[0]]\ninner = box[0]",
        "import pandas as pd\nframe = pd.DataFrame({'a': [1]})\ndfs = [frame]",
        "class Model:\n    pass\nmodel = Model()\nregistry = {'m': model}",
        "%%step change\nbox[0].append(1)\ndfs[0]['c'] = 0\nregistry['m'].coef_ = [1, 2]",
    ]
    session = twice(lab, cells)
    assert session.value("inner") == "[0, 1]"
    assert session.value("box[0] is inner") == "True"
    assert session.value("list(frame.columns)") == "['a', 'c']"
    assert session.value("dfs[0] is frame") == "True"
    assert session.value("model.coef_") == "[1, 2]"
    assert session.value("registry['m'] is model and isinstance(model, Model)") == "True"


def test_arrays_keep_their_flags_even_when_equal_content_is_stored_once(lab):
    step = """%%step arrays
import numpy as np
c_order = np.zeros((3, 2))
f_order = np.asfortranarray(np.zeros((3, 2)))
frozen = np.zeros((3, 2))
frozen.flags.writeable = False
soft = np.ma.masked_array([1.0, 2.0], mask=[False, True])
hard = np.ma.masked_array([1.0, 2.0], mask=[False, True], hard_mask=True)"""
    session = twice(lab, [step])
    assert session.value("(c_order.flags.c_contiguous, f_order.flags.f_contiguous, f_order.flags.c_contiguous)") == "(True, True, False)"
    assert session.value("(c_order.flags.writeable, frozen.flags.writeable)") == "(True, False)"
    assert session.value("(soft.hardmask, hard.hardmask)") == "(False, True)"


def test_a_file_the_step_wrote_and_that_was_deleted_comes_back(lab):
    step = "%%step write\nwith open('out.txt', 'w') as fh:\n    fh.write('made')"
    session = lab.run([step])
    (lab.root / "out.txt").unlink()
    session.run(step)
    assert (lab.root / "out.txt").read_text() == "made"
    assert session.last.ran, session.last
    session.run(step)
    assert session.last.cached  # and once it is there again, the step is a hit
