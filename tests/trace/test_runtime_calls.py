"""Functions reached while the step runs, not only by name: eval, getattr, tables of functions, methods."""

from __future__ import annotations


def test_a_helper_called_through_eval_is_followed(lab):
    cells = ["def helper():\n    return 1", "%%step use\ny = eval('helper()')"]
    session = lab.run(cells)
    assert session.value("y") == "1"
    session.run(cells[1])
    assert session.last.cached, session.last  # eval is traced: no need to run every time
    session.run("def helper():\n    return 2")
    session.run(cells[1])
    assert session.last.ran and session.value("y") == "2"


def test_a_name_read_through_eval_of_a_runtime_string_is_followed(lab):
    session = lab.run(["x = 1", "name = 'x'", "%%step use\ny = eval(name) * 2"])
    session.run("x = 5")
    session.run("%%step use\ny = eval(name) * 2")
    assert session.last.ran and session.value("y") == "10"


def test_defining_a_helper_that_calls_eval_does_not_make_a_step_run_every_time(lab):
    cell = "%%step define\ndef evaluate(text):\n    return eval(text)"
    session = lab.run([cell])
    session.run(cell)
    assert session.last.cached, session.last


def test_a_method_reached_through_getattr_is_followed(lab):
    klass = "class Ops:\n    def double(self, x):\n        return 2 * x"
    cells = [klass, "ops = Ops()\nname = 'double'", "%%step use\ny = getattr(ops, name)(4)"]
    session = lab.run(cells)
    session.run(klass.replace("2 * x", "3 * x"))
    session.run(cells[1])
    session.run(cells[2])
    assert session.last.ran and session.value("y") == "12"


def test_a_function_in_a_table_of_functions_is_followed(lab):
    cells = ["def inc(x):\n    return x + 1", "table = {'inc': inc}", "%%step use\ny = table['inc'](1)"]
    session = lab.run(cells)
    session.run("def inc(x):\n    return x + 10")
    session.run(cells[1])
    session.run(cells[2])
    assert session.last.ran and session.value("y") == "11"


def test_a_method_of_an_object_built_in_another_cell_from_a_local_module_is_followed(lab):
    lab.write("shapes.py", "class Scaler:\n    def scale(self, x):\n        return x * 2\n")
    cells = ["import shapes\ns = shapes.Scaler()", "%%step use\ny = s.scale(2)"]
    assert lab.run(cells).value("y") == "4"
    lab.write("shapes.py", "class Scaler:\n    def scale(self, x):\n        return x * 7\n")
    edited = lab.run(cells)
    assert edited.step("use").ran and edited.value("y") == "14"


DISPLAY = '''
class display(object):
    """Display HTML representation of multiple objects"""
    template = """<div style="float: left; padding: 10px;">
    <p style='font-family:"Courier New", Courier, monospace'>{0}</p>{1}
    </div>"""
    def __init__(self, *args):
        self.args = args

    def _repr_html_(self):
        return '\\n'.join(self.template.format(a, eval(a)._repr_html_())
                         for a in self.args)

    def __repr__(self):
        return '\\n\\n'.join(a + '\\n' + repr(eval(a))
                           for a in self.args)
'''


def test_a_helper_class_that_evals_names_when_shown_is_followed(lab):
    """The Python Data Science Handbook's ``display`` helper: the shown frames are read by eval."""
    cells = ["import pandas as pd", DISPLAY, "df1 = pd.DataFrame({'A': [1, 2]})", "%%step show\ndisplay('df1')"]
    session = lab.run(cells)
    assert "1" in session.last.displays[0]["text/plain"]
    session.run("df1 = pd.DataFrame({'A': [7, 8]})")
    session.run(cells[-1])
    shown = session.last.displays[0]["text/plain"]
    assert "7" in shown and "8" in shown, session.last
