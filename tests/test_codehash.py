"""Hashes of functions, classes and modules: editing a helper invalidates, moving it does not.

Functions are defined the way a notebook cell defines them: source run with ``exec``
in a namespace named ``__main__``.
"""

from __future__ import annotations

import collections
import functools
import importlib
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

from wfnb.cache.codehash import global_token
from wfnb.cache.hashing import hash_value, is_library_module, module_version
from wfnb.errors import UnhashableValue


def define(source: str, offset: int = 0, **names: object) -> dict:
    """Run ``source`` as a cell would (module ``__main__``), ``offset`` lines further down."""
    namespace: dict = {"__name__": "__main__", **names}
    code = compile("\n" * offset + textwrap.dedent(source), "<cell>", "exec", dont_inherit=True)
    exec(code, namespace)  # dont_inherit: not this file's ``from __future__ import annotations``
    return namespace


HELPERS = '''
import math
SCALE = 2

def inner(x):
    return x * SCALE

def middle(x):
    return inner(x) + 1

def outer(values, k=3, *, offset=0.5):
    """Sum of middles."""
    return sum(middle(v) for v in values) + k + offset + math.pi
'''


def test_moving_a_function_or_editing_comments_keeps_its_hash():
    digest = hash_value(define(HELPERS)["outer"])
    assert hash_value(define(HELPERS, offset=57)["outer"]) == digest
    commented = HELPERS.replace("def middle(x):", "# a helper\n\n\ndef middle(x):  # adds one\n    # really")
    assert hash_value(define(commented, offset=3)["outer"]) == digest
    documented = HELPERS.replace('"""Sum of middles."""', '"""Sum of middles,\n    over two lines."""')
    assert hash_value(define(documented)["outer"]) == digest  # a docstring is not behaviour
    undocumented = HELPERS.replace('    """Sum of middles."""\n', "")
    assert hash_value(define(undocumented)["outer"]) == digest


def test_a_string_the_function_returns_is_not_taken_for_a_docstring():
    returns = "def f():\n    return 'one'\n"
    assert hash_value(define(returns)["f"]) != hash_value(define(returns.replace("'one'", "'two'"))["f"])


@pytest.mark.parametrize(
    "old, new",
    [
        ("return x * SCALE", "return x * SCALE * 1"),  # the code of a helper two calls down
        ("SCALE = 2", "SCALE = 3"),  # a global that helper reads
        ("return inner(x) + 1", "return inner(x) - 1"),  # the code of a helper it calls
        ("k=3", "k=4"),  # a default
        ("offset=0.5", "offset=0.25"),  # a keyword-only default
        ("import math\n", "import cmath as math\n"),  # a module it reads
        ("def outer(values,", "def outer2(values,"),  # its name
    ],
)
def test_editing_what_a_function_depends_on_changes_its_hash(old, new):
    assert HELPERS.count(old) == 1
    edited = define(HELPERS.replace(old, new))
    assert hash_value(edited.get("outer") or edited["outer2"]) != hash_value(define(HELPERS)["outer"])


def test_changing_a_global_at_runtime_changes_the_hash():
    namespace = define(HELPERS)
    digest = hash_value(namespace["outer"])
    namespace["SCALE"] = 5
    assert hash_value(namespace["outer"]) != digest
    namespace["SCALE"] = 2
    assert hash_value(namespace["outer"]) == digest
    del namespace["SCALE"]  # reading an undefined global is a state of its own
    assert hash_value(namespace["outer"]) != digest


def test_closures_defaults_and_bound_methods_are_part_of_a_function():
    namespace = define(
        """
        def make(k):
            def add(x):
                return x + k
            return add

        class Box:
            def __init__(self, v):
                self.v = v
            def get(self):
                return self.v
        """
    )
    make, box = namespace["make"], namespace["Box"]
    assert hash_value(make(1)) == hash_value(make(1))
    assert hash_value(make(1)) != hash_value(make(2))
    assert hash_value(box(1).get) == hash_value(box(1).get)
    assert hash_value(box(1).get) != hash_value(box(2).get)
    assert hash_value(functools.partial(make, 1)) != hash_value(functools.partial(make, 2))
    assert hash_value([1, 2].append) != hash_value([1, 3].append)


MUTUAL = """
def even(n):
    return n == 0 or odd(n - 1)

def odd(n):
    return n != 0 and even(n - 1)
"""


def test_mutual_recursion_terminates():
    namespace = define(MUTUAL)
    assert hash_value(namespace["even"]) != hash_value(namespace["odd"])
    assert hash_value(namespace["even"]) == hash_value(define(MUTUAL, offset=5)["even"])
    assert hash_value(namespace["even"]) != hash_value(define(MUTUAL.replace("n != 0", "n > 0"))["even"])


DECORATED = """
import functools

def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper

@logged
def work(x):
    return x + 1

@functools.lru_cache(maxsize=None)
def cached(x):
    return x + 1
"""


@pytest.mark.parametrize("name", ["work", "cached"])
def test_decorated_functions_include_the_function_they_wrap(name):
    digest = hash_value(define(DECORATED)[name])
    assert hash_value(define(DECORATED, offset=9)[name]) == digest
    assert hash_value(define(DECORATED.replace("x + 1", "x + 2"))[name]) != digest


CLASSES = """
import dataclasses, enum

@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float = 0.0

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5

    @property
    def flipped(self):
        return Point(self.y, self.x)

    @staticmethod
    def origin():
        return Point(0.0)

    @classmethod
    def unit(cls):
        return cls(1.0)

class Color(enum.Enum):
    RED = 1
    BLUE = 2

class Base:
    def describe(self):
        return "base"

class Child(Base):
    __slots__ = ("a",)

    def describe(self):
        return super().describe() + "!"
"""


@pytest.mark.parametrize(
    "name, old, new",
    [
        ("Point", "** 0.5", "** 0.25"),  # a method
        ("Point", "return Point(self.y, self.x)", "return Point(self.x, self.y)"),  # a property
        ("Point", "return Point(0.0)", "return Point(1.0)"),  # a staticmethod
        ("Point", "return cls(1.0)", "return cls(2.0)"),  # a classmethod
        ("Point", "y: float = 0.0", "y: float = 1.0"),  # a field default
        ("Color", "BLUE = 2", "BLUE = 3"),
        ("Child", 'return "base"', 'return "base class"'),  # a base class
        ("Child", '__slots__ = ("a",)', '__slots__ = ("b",)'),
    ],
)
def test_editing_a_class_changes_its_hash_and_its_instances(name, old, new):
    digest = hash_value(define(CLASSES)[name])
    assert hash_value(define(CLASSES, offset=12)[name]) == digest
    assert hash_value(define(CLASSES.replace(old, new))[name]) != digest


def test_instances_include_their_class_and_state():
    namespace = define(CLASSES)
    point = namespace["Point"]
    assert hash_value(point(1.0, 2.0)) == hash_value(point(1.0, 2.0))
    assert hash_value(point(1.0, 2.0)) != hash_value(point(2.0, 1.0))
    assert hash_value(point(1.0)) != hash_value(define(CLASSES.replace("** 0.5", "** 0.25"))["Point"](1.0))
    assert hash_value(namespace["Color"].RED) != hash_value(namespace["Color"].BLUE)


def test_library_code_is_hashed_by_name_and_version():
    assert global_token(np.mean) == ("numpy", "mean", np.__version__)
    assert global_token(pd.read_csv)[2] == pd.__version__
    assert global_token(pd.DataFrame)[2] == pd.__version__
    python = f"{sys.implementation.name}-{'.'.join(map(str, sys.version_info[:3]))}"
    assert global_token(len) == ("builtins", "len", python)
    assert global_token(collections.OrderedDict)[2] == python
    digests = [hash_value(f) for f in (np.mean, np.sum, np.add, pd.read_csv, len, print, pd.DataFrame, json.dumps)]
    assert len(set(digests)) == len(digests)
    assert hash_value(np.mean) == hash_value(np.mean)


def test_a_function_that_only_claims_a_library_module_is_hashed_by_content():
    one = define("def dumps(x):\n    return 1\n", __name__="json")["dumps"]
    two = define("def dumps(x):\n    return 2\n", __name__="json")["dumps"]
    assert one.__module__ == "json" and global_token(one) is None
    assert hash_value(one) != hash_value(two)


def test_which_modules_are_library_code():
    for name in ("os", "sys", "json.decoder", "numpy", "numpy.linalg", "pandas.core.frame", "wfnb.cache.hashing"):
        assert is_library_module(name), name
    for name in ("__main__", __name__, "no_such_module_anywhere"):
        assert not is_library_module(name), name
    assert module_version("numpy") == np.__version__
    assert module_version("pandas.core.frame") == pd.__version__
    assert module_version("os") is None
    assert module_version("no_such_module_anywhere") is None


@pytest.fixture
def local_package(tmp_path, monkeypatch):
    """A package in a local directory (user code), imported; removed from sys.modules afterwards."""
    root = tmp_path / "wfnb_local_pkg"
    root.mkdir()
    (root / "__init__.py").write_text("X = 1\n")
    (root / "helpers.py").write_text("import numpy as np\nCONFIG = {'a': 1}\n\ndef f(x):\n    return np.sum(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    package = importlib.import_module("wfnb_local_pkg")
    importlib.import_module("wfnb_local_pkg.helpers")
    yield package, root
    for name in ("wfnb_local_pkg", "wfnb_local_pkg.helpers"):
        sys.modules.pop(name, None)


def test_local_modules_hash_their_file_and_current_attributes(local_package):
    package, root = local_package
    helpers = package.helpers
    assert not is_library_module("wfnb_local_pkg.helpers")
    digest = hash_value(package)
    helpers.CONFIG["a"] = 2  # changed at runtime, in a submodule
    assert hash_value(package) != digest
    helpers.CONFIG["a"] = 1
    assert hash_value(package) == digest
    helpers.lock = threading.Lock()  # no content: counts by its type, does not fail the module
    with_lock = hash_value(package)
    (root / "helpers.py").write_text("import numpy as np\nCONFIG = {'a': 1}\n\ndef f(x):\n    return np.max(x)\n")
    assert hash_value(package) != with_lock  # the file changed (not reloaded yet)
    importlib.reload(helpers)
    reloaded = hash_value(package)
    namespace = define("def g(x):\n    return wfnb_local_pkg.helpers.f(x)\n", wfnb_local_pkg=package)
    assert hash_value(namespace["g"]) != hash_value(define("def g(x):\n    return x\n")["g"])
    assert reloaded != with_lock


def test_values_without_content_read_by_a_function_name_the_path():
    namespace = define("def work():\n    return LOG.write('x')\n", LOG=threading.Lock())
    with pytest.raises(UnhashableValue, match="global 'LOG' read by function 'work'"):
        hash_value(namespace["work"])
    with pytest.raises(UnhashableValue, match="__main__"):
        hash_value(sys.modules["__main__"])


def test_function_hashes_are_equal_in_another_process():
    script = textwrap.dedent(
        """
        import sys, textwrap
        from wfnb.cache.hashing import hash_value
        namespace = {"__name__": "__main__"}
        exec(compile(sys.stdin.read(), "<cell>", "exec"), namespace)
        print(hash_value(namespace["outer"]), hash_value(namespace["Point"]), hash_value(namespace["Point"](1.0)))
        """
    )
    source = HELPERS + textwrap.dedent(CLASSES)
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    result = subprocess.run(
        [sys.executable, "-c", script], input=source, capture_output=True, text=True, env=env, check=True
    )
    namespace = define(source)
    expected = [hash_value(namespace["outer"]), hash_value(namespace["Point"]), hash_value(namespace["Point"](1.0))]
    assert result.stdout.split() == expected
