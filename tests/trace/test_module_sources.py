"""Code a step runs that no import statement names: a class unpickled from a local module, a module
loaded from a path with ``importlib.util.spec_from_file_location``."""

from __future__ import annotations

from tests.trace.test_more_habits import outside

MODEL = "class Model:\n    factor = 2\n    def predict(self, x):\n        return x * self.factor\n"


def test_unpickling_an_object_of_a_local_class_depends_on_that_modules_source(lab):
    lab.write("models.py", MODEL)
    outside(lab, "import pickle, models\npickle.dump(models.Model(), open('model.pkl', 'wb'))")
    step = "%%step predict\nimport pickle\nwith open('model.pkl', 'rb') as f:\n    model = pickle.load(f)\ny = model.predict(21)"
    session = lab.run(["import models", step])
    assert session.value("y") == "42"
    again = lab.run(["import models", step])
    assert again.last.cached, again.last.status
    lab.write("models.py", MODEL.replace("factor = 2", "factor = 3"))
    edited = lab.run(["import models", step])
    assert edited.last.ran and edited.value("y") == "63", edited.last.status


def test_a_module_loaded_from_a_path_is_a_dependency(lab):
    lab.write("plugins/scale.py", "K = 2\n")
    step = (
        "%%step load\nimport importlib.util\nname = 'scale'\n"
        "spec = importlib.util.spec_from_file_location(name, f'plugins/{name}.py')\n"
        "mod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\nk = mod.K\ndel spec, mod"
    )
    session = lab.run([step])
    assert session.value("k") == "2"
    again = lab.run([step])
    assert again.last.cached, again.last.status
    lab.write("plugins/scale.py", "K = 5\n")
    edited = lab.run([step])
    assert edited.last.ran and edited.value("k") == "5", edited.last.status
