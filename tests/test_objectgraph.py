"""The graph of a step's outputs (wfnb.cache.objectgraph) on odd objects that whole notebooks rarely reach."""

from __future__ import annotations

from wfnb.cache import objectgraph


class _ModuleAnsweredByDescriptor(type):
    # Like the function type of Cython 3.1.0 (reached through pandas' modules on Python 3.10): the
    # type's `__module__` is a descriptor, not a string.
    __module__ = property(lambda cls: None)  # type: ignore[assignment]  # a class whose __module__ is None, on purpose


class _Odd(metaclass=_ModuleAnsweredByDescriptor):
    pass


class _Box:
    pass


def test_an_object_whose_type_has_no_module_name_is_packed_and_unpacked():
    box = _Box()
    box.item = _Odd()
    assert not isinstance(type(box.item).__module__, str)
    packed = objectgraph.pack({"box": box}, objectgraph.LiveIndex(), digest_of=lambda value: "unused")
    restored = objectgraph.unpack(packed.data, resolve_live=lambda path: None, load_leaf=lambda digest: None)
    assert type(restored["box"].item) is _Odd
