"""Hashes of code: user functions, classes and modules by content, libraries by version.

Editing a helper in another cell must invalidate every step that calls it, even
through other helpers, so a user function is hashed by what decides its behaviour:
its code object (without line numbers or file names, so that moving it or editing a
comment elsewhere does not invalidate), its defaults, its closure and the globals its
code reads, each hashed as a value, transitively. Library code (standard library,
site-packages) is hashed by module, qualified name and installed version instead:
reading it would be slow, and it only changes when the library is upgraded.

The handlers here are generators driven by the encoder in ``wfnb.cache.encoder``: they
write bytes with ``enc.write``/``enc.write_str`` and yield sub-values, which the
encoder hashes in order before resuming them. Their tags all start with ``~`` so
that they never collide with the encoder's own.
"""

from __future__ import annotations

import dis
import functools
import importlib.util
import os
import sys
import weakref
from collections.abc import Callable, Iterator
from types import (
    BuiltinFunctionType,
    CodeType,
    FunctionType,
    GetSetDescriptorType,
    MemberDescriptorType,
    MethodType,
    ModuleType,
)
from typing import TYPE_CHECKING, Any, NamedTuple

import xxhash

from wfnb.cache.codeorigin import is_library_module, library_version
from wfnb.errors import UnhashableValue

if TYPE_CHECKING:
    from wfnb.cache.encoder import Encoder

_T_GLOBAL = b"~g"  # library object: module, qualname, version
_T_FUNC = b"~f"
_T_CODE = b"~c"
_T_CLASS = b"~k"
_T_METHOD = b"~m"
_T_BUILTIN = b"~b"
_T_BOUND = b"~B"
_T_MODULE = b"~M"
_T_PROPERTY = b"~p"
_T_WRAPPER = b"~w"  # staticmethod, classmethod, cached_property
_T_MEMBER = b"~d"
_T_NAMED = b"~n"  # user object that pickles by name (e.g. an lru_cache wrapper)

# Opcodes that read a global (or, in class bodies and exec'd code, a name).
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
# Class attributes that are bookkeeping, not behaviour (or positions, or unhashable caches).
# ``__slotnames__`` is a cache copyreg adds the first time an instance is pickled (storing one does).
_SKIP_CLASS_ATTRS = frozenset(
    {"__dict__", "__weakref__", "__module__", "_abc_impl", "__firstlineno__", "__static_attributes__", "__slotnames__"}
)
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes written in Python (not C)
_FILE_DIGESTS: dict[tuple[str, int, int], bytes] = {}


# ---- library code, by name and version (see wfnb.cache.codeorigin) -----------------------------------


def global_token(obj: object, resolvable: bool = True) -> tuple[str, str, str] | None:
    """``(module, qualname, version)`` if ``obj`` is library code that may be hashed by name.

    Only when the name leads back to the very same object (unless it is C code,
    ``resolvable=False``): a function a library builds at runtime, such as a closure,
    must be hashed by content, since its name does not say what it does.
    """
    try:
        module, qualname = obj.__module__, obj.__qualname__  # type: ignore[attr-defined]  # any object: one without them raises, caught below
    except Exception:  # noqa: BLE001 - a proxy or odd object whose attributes raise: no origin
        return None
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    if not is_library_module(module):
        return None
    version = library_version(module)
    if version is None:
        return None
    if resolvable and _lookup(module, qualname) is not obj:
        return None
    return module, qualname, version


def _lookup(module: str, qualname: str) -> object:
    found: object = sys.modules.get(module)
    try:
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:  # noqa: BLE001 - a module attribute that raises when read: not found
        return None
    return found


def write_global(enc: Encoder, token: tuple[str, str, str]) -> None:
    enc.write(_T_GLOBAL)
    for part in token:
        enc.write_str(part)


# ---- handlers -------------------------------------------------------------------------


def handler_for(kind: type) -> tuple[Callable[[Encoder, Any], Iterator[object]], bool] | None:
    """The handler (and whether to memoize by identity) for code-like types, else ``None``."""
    if issubclass(kind, type):
        return _enc_class, True
    if kind is FunctionType:
        return _enc_function, True
    if kind is BuiltinFunctionType:
        return _enc_builtin, True
    if kind is MethodType:
        return _enc_method, True
    if issubclass(kind, ModuleType):
        return _enc_module, True
    if kind is CodeType:
        return _enc_code, False
    if issubclass(kind, (staticmethod, classmethod, functools.cached_property)):
        return _enc_wrapper, True
    if issubclass(kind, property):
        return _enc_property, True
    if kind in (MemberDescriptorType, GetSetDescriptorType):
        return _enc_member, False
    return None


def _enc_function(enc: Encoder, fn: FunctionType) -> Iterator[object]:
    token = global_token(fn)
    if token is not None:
        write_global(enc, token)
        return
    name = fn.__qualname__
    info = _code_info(enc, fn.__code__)
    enc.write(_T_FUNC)
    enc.write_str(name)
    enc.write(info.digest)
    _where = f"the defaults of function {name!r}"
    yield fn.__defaults__
    yield fn.__kwdefaults__
    cells = fn.__closure__ or ()
    enc.write_len(len(cells))
    for var, cell in zip(fn.__code__.co_freevars, cells):
        _where = f"closure variable {var!r} of function {name!r}"
        try:
            value = cell.cell_contents
        except ValueError:  # not assigned yet
            enc.write(b"\0")
            continue
        enc.write(b"\1")
        yield value
    namespace = fn.__globals__
    builtins = getattr(fn, "__builtins__", None) or {}
    enc.write_len(len(info.global_names))
    for var in info.global_names:
        _where = f"global {var!r} read by function {name!r}"
        enc.write_str(var)
        if var in namespace:
            enc.write(b"g")
            yield namespace[var]
        elif var in builtins:
            enc.write(b"b")
            yield builtins[var]
        else:
            enc.write(b"-")
    enc.write_len(len(info.imports))
    for module_name, level in info.imports:
        _where = f"module {module_name!r} imported by function {name!r}"
        resolved = _absolute_module(module_name, level, namespace.get("__package__"))
        enc.write_str(resolved or "")
        module = sys.modules.get(resolved) if resolved else None
        enc.write(b"-" if module is None else b"m")
        if module is not None:
            yield module
    _where = f"the attributes of function {name!r}"
    yield fn.__dict__  # holds __wrapped__ for decorated functions
    try:
        annotations = fn.__annotations__
    except Exception:  # noqa: BLE001 - a lazy __annotations__ that fails to evaluate
        annotations = None
    yield annotations


def _absolute_module(name: str, level: int, package: object) -> str | None:
    if not level:
        return name
    try:
        return importlib.util.resolve_name("." * level + name, package)  # type: ignore[arg-type]  # a bad package raises, caught below
    except (ImportError, ValueError, TypeError):
        return None


class _CodeInfo(NamedTuple):
    digest: bytes
    global_names: tuple[str, ...]
    imports: tuple[tuple[str, int], ...]


_CODE_INFO: dict[int, tuple[weakref.ref[CodeType], _CodeInfo]] = {}


def _code_info(enc: Encoder, code: CodeType) -> _CodeInfo:
    """Digest and read globals of a code object, cached while the code object lives."""
    key = id(code)
    entry = _CODE_INFO.get(key)
    if entry is not None and entry[0]() is code:
        return entry[1]
    names: set[str] = set()
    imports: set[tuple[str, int]] = set()
    _scan(code, names, imports)
    fields = (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        code.co_code,
        _behaviour_consts(code),
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_name,
        getattr(code, "co_qualname", code.co_name),
        getattr(code, "co_exceptiontable", b""),  # try/except ranges: behaviour, not position
    )
    info = _CodeInfo(enc.digest_of(fields), tuple(sorted(names)), tuple(sorted(imports)))
    _CODE_INFO[key] = (weakref.ref(code, functools.partial(_forget_code, key)), info)
    return info


def _forget_code(key: int, _ref: object) -> None:
    """A code object is gone: its id may be reused, so what was learnt about it goes too."""
    _CODE_INFO.pop(key, None)


def _behaviour_consts(code: CodeType) -> tuple[Any, ...]:
    """The constants that can change what the code does: a docstring is left out (no instruction
    loads it), so that editing a helper's docstring re-runs none of its callers."""
    consts = code.co_consts
    if not consts or not isinstance(consts[0], str):
        return consts
    if any(ins.arg == 0 and ins.opcode in dis.hasconst for ins in dis.get_instructions(code)):
        return consts
    return (None, *consts[1:])


def _scan(code: CodeType, names: set[str], imports: set[tuple[str, int]]) -> None:
    """Collect the globals read and modules imported by a code object and its nested code."""
    previous: list[Any] = [None, None]
    for ins in dis.get_instructions(code):
        if ins.opname in _GLOBAL_OPS:
            names.add(ins.argval)
        elif ins.opname == "IMPORT_NAME":
            level = previous[0].argval if previous[0] is not None and previous[0].opname == "LOAD_CONST" else 0
            level = level if isinstance(level, int) else 0
            imports.add((ins.argval, level))
            if not level and "." in ins.argval:  # ``import a.b`` binds ``a``
                imports.add((ins.argval.partition(".")[0], 0))
        previous = [previous[1], ins]
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _scan(const, names, imports)


def names_used(code: CodeType) -> set[str]:
    """Every name a code object (and its nested code) loads, stores or looks up as an attribute."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= names_used(const)
    return names


def imported_modules(code: CodeType, package: str | None) -> list[str]:
    """The absolute names of the modules a code object (and its nested code) imports."""
    names: set[str] = set()
    imports: set[tuple[str, int]] = set()
    _scan(code, names, imports)
    resolved = (_absolute_module(name, level, package) for name, level in sorted(imports))
    return [name for name in resolved if name]


def _enc_code(enc: Encoder, code: CodeType) -> Iterator[object]:
    enc.write(_T_CODE)
    enc.write(_code_info(enc, code).digest)
    yield from ()


def _enc_class(enc: Encoder, cls: type) -> Iterator[object]:
    token = global_token(cls, resolvable=bool(cls.__flags__ & _HEAPTYPE))
    if token is not None:
        write_global(enc, token)
        return
    name = cls.__qualname__
    enc.write(_T_CLASS)
    enc.write_str(name)
    _where = f"the bases of class {name!r}"
    yield None if type(cls) is type else type(cls)
    yield cls.__bases__
    # Members by name: a class rebuilt from the store (cloudpickle sets them in sorted order) lists
    # them in another order than its class body did, and the order of a class's dict changes nothing it does.
    items = sorted(((key, value) for key, value in vars(cls).items() if key not in _SKIP_CLASS_ATTRS), key=lambda item: item[0])
    enc.write_len(len(items))
    for key, value in items:
        _where = f"attribute {key!r} of class {name!r}"
        enc.write_str(key)
        yield value


def _enc_method(enc: Encoder, method: MethodType) -> Iterator[object]:
    token = _module_level_method(method, getattr(method.__func__, "__module__", None))
    if token is not None:  # e.g. random.random: a library's own bound method, by name (its state is a probe)
        write_global(enc, token)
        return
    enc.write(_T_METHOD)
    yield method.__func__
    yield method.__self__


def _module_level_method(method: Any, module: Any) -> tuple[str, str, str] | None:
    """A library's bound method that the library publishes under its name (``random.random``)."""
    name = getattr(method, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str) or not is_library_module(module):
        return None
    if vars(sys.modules.get(module) or sys).get(name) is not method:
        return None
    version = library_version(module)
    return None if version is None else (module, name, version)


def _enc_builtin(enc: Encoder, fn: BuiltinFunctionType) -> Iterator[object]:
    owner = fn.__self__
    if owner is None or isinstance(owner, ModuleType):
        token = global_token(fn, resolvable=False)  # C code changes only with its version
        if token is not None:
            write_global(enc, token)
            return
        enc.write(_T_BUILTIN)
        enc.write_str(fn.__qualname__)
        yield owner
        return
    token = _module_level_method(fn, type(owner).__module__)
    if token is not None:  # e.g. random.random, np.random.rand: the library's own, by name (their state is a probe)
        write_global(enc, token)
        return
    enc.write(_T_BOUND)  # e.g. ``mylist.append``: the object it is bound to is part of it
    enc.write_str(fn.__name__)
    yield owner


def _enc_wrapper(enc: Encoder, obj: Any) -> Iterator[object]:
    enc.write(_T_WRAPPER)
    yield type(obj)
    yield obj.func if isinstance(obj, functools.cached_property) else obj.__func__


def _enc_property(enc: Encoder, prop: property) -> Iterator[object]:
    enc.write(_T_PROPERTY)
    yield type(prop)
    yield prop.fget
    yield prop.fset
    yield prop.fdel
    yield prop.__doc__


def _enc_member(enc: Encoder, descriptor: Any) -> Iterator[object]:
    enc.write(_T_MEMBER)
    enc.write_str(descriptor.__name__)
    yield descriptor.__objclass__


def enc_named_object(enc: Encoder, obj: object, name: str) -> Iterator[object]:
    """An object whose ``__reduce__`` gives a global name: by name if library, else by its type and state."""
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and is_library_module(module) and _lookup(module, name) is obj:
        version = library_version(module)
        if version is not None:
            write_global(enc, (module, name, version))
            return
    state = getattr(obj, "__dict__", None)
    if state is None:
        raise UnhashableValue(
            f"This value cannot be hashed: an object of type {type(obj).__qualname__!r} named {name!r} "
            "is user code that pickles by name and has no visible state. Refer to the function "
            "or data it wraps instead."
        )
    enc.write(_T_NAMED)
    enc.write_str(name)
    yield type(obj)
    yield state  # an lru_cache wrapper keeps ``__wrapped__`` here


def _enc_module(enc: Encoder, module: ModuleType) -> Iterator[object]:
    name = module.__name__
    enc.write(_T_MODULE)
    enc.write_str(name)
    if is_library_module(name):
        version = library_version(name)
        if version is not None:
            enc.write(b"v")
            enc.write_str(version)
            return
    if name == "__main__":
        raise UnhashableValue(
            "The notebook's own namespace (module '__main__') cannot be hashed as a whole. "
            "Refer to the functions and values you need by name instead of through the module."
        )
    # A local module: its file, and what is loaded from it now (which differs from the file
    # until it is reloaded, and may have been changed at runtime). An attribute with no
    # content to compare (a lock, a weakref, a connection) counts by its type only: the
    # step may well not use it, and failing the whole module for it would be worse.
    enc.write(b"u")
    enc.write(_file_digest(getattr(module, "__file__", None)))
    namespace = vars(module)
    keys = sorted(key for key in namespace if not (key.startswith("__") and key.endswith("__")))
    enc.write_len(len(keys))
    for key in keys:
        enc.write_str(key)
        value = namespace[key]
        digest = enc.digest_or_none(value)
        if digest is None:
            enc.write(b"?")
            enc.write_str(f"{type(value).__module__}.{type(value).__qualname__}")
        else:
            enc.write(b"=")
            enc.write(digest)
    yield from ()


def _file_digest(path: str | None) -> bytes:
    """xxh3-128 of a file's bytes (16 zero bytes if there is none), cached by path, mtime and size."""
    try:
        stat = os.stat(path)  # type: ignore[arg-type]  # None raises TypeError, caught below
    except (OSError, TypeError):
        return bytes(16)
    key = (path, stat.st_mtime_ns, stat.st_size)
    digest = _FILE_DIGESTS.get(key)  # type: ignore[arg-type]  # path is a str by now
    if digest is None:
        with open(path, "rb") as file:  # type: ignore[arg-type]  # path is a str by now
            digest = xxhash.xxh3_128_digest(file.read())
        _FILE_DIGESTS[key] = digest  # type: ignore[index]  # path is a str by now
    return digest
