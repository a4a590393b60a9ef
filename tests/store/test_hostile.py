"""Bad and hostile input: damaged objects, refs, records and manifests give clear errors, never a traceback.

A fuzz test (hypothesis) damages a real store in many ways and reads it through
the public API: only ``WfnbError`` may come out, and no value may be loaded
from a damaged object.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.utils.capture import capture_output

import wfnb
from wfnb.cache.hashing import hash_value
from wfnb.errors import CorruptObject, StoreError, WfnbError
from wfnb.store import open_store
from wfnb.store.layout import object_path
from wfnb.store.objects import pack_document

NOTEBOOK = [
    "%%params\nscale = 2",
    "%%step load\nimport numpy as np\nprobe.hit('load')\ndata = np.arange(2000) * scale",
    "%%step stats\nprobe.hit('stats')\nstats = {'total': int(data.sum()), 'n': len(data)}\nwfnb.log(total=stats['total'])",
]


def _run_notebook(shell, store: Path) -> None:
    shell.run_line_magic("wfnb", f"store {store}")
    shell.run_cell("import wfnb")
    for cell in NOTEBOOK:
        assert shell.run_cell(cell).success


def _files(root: Path, top: str) -> list[Path]:
    return sorted(p for p in (root / top).rglob("*") if p.is_file())


def _values_of(root: Path, step: str) -> Path:
    """The object holding the values of ``step`` (its graph): what damage to a step's result hits."""
    opened = open_store(root, create=False)
    for path in _files(root, "records"):
        record = opened.read_record(path.stem)
        if record["step"] == step:
            return root / object_path(record["graph"])
    raise AssertionError(f"no record of step {step}")


# ----- a damaged object: detected, reported in one line, the step re-runs
@pytest.mark.parametrize("damage", ["flip", "truncate", "missing"])
def test_a_damaged_value_makes_the_step_run_again(ip, new_kernel, probe, tmp_path, damage):
    store = tmp_path / "store"
    _run_notebook(ip, store)
    big = _values_of(store, "load")
    if damage == "flip":
        raw = bytearray(big.read_bytes())
        raw[len(raw) // 2] ^= 0x10
        big.write_bytes(bytes(raw))
    elif damage == "truncate":
        os.truncate(big, big.stat().st_size // 2)
    else:
        big.unlink()
    shell = new_kernel()
    with capture_output() as io:
        _run_notebook(shell, store)
    assert probe.count("load") == 2 and probe.count("stats") == 1  # only the damaged step ran again
    (line,) = [line for line in io.stderr.splitlines() if "runs again" in line]
    assert big.name in line and "load" in line
    assert int(shell.user_ns["data"][-1]) == 3998
    assert wfnb.verify(str(store)).ok


# ----- stores owned by someone else
def test_a_store_owned_by_another_user_warns_once(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    root = tmp_path / "theirs"
    open_store(root)
    os.chown(root, 4242, 4242)
    with pytest.warns(UserWarning, match=r"belongs to another user \(uid 4242\).*pickles") as caught:
        open_store(root)
    assert [w.filename for w in caught] == [__file__]  # shown at the caller's line, not inside wfnb
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_store(root)  # once per store and process


# ----- malformed manifests and pointer refs
def _rewrite_ref(store_root: Path, name: str, data: object) -> None:
    path = store_root / "refs" / f"{name}.json"
    path.write_bytes(pack_document("ref", name, data))  # a valid envelope around bad data


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("workflows/notebook/variants/000001", {"number": "one"}, "variant manifest .* damaged: its field 'number'"),
        ("workflows/notebook/variants/000001", {"number": 1, "workflow": "notebook", "identity": "x", "steps": [3]},
         "field 'params'|step entry"),
        ("workflows/notebook/HEAD", {"variant": "v1"}, "ref workflows/notebook/HEAD is damaged"),
    ],
)
def test_malformed_manifests_and_refs_are_clear_errors(ip, probe, tmp_path, capsys, name, data, expected):
    store = tmp_path / "store"
    _run_notebook(ip, store)
    _rewrite_ref(store, name, data)
    with pytest.raises(CorruptObject, match=expected):
        if name.endswith("HEAD"):
            wfnb.sweep("notebook", grid={"scale": [1]}, backend="threading")
        else:
            wfnb.variant("v1", "notebook", store=str(store))
    if not name.endswith("HEAD"):  # a listing leaves the damaged variant out, and says so
        assert wfnb.variants("notebook", store=str(store)).empty
        assert "left out of the list" in capsys.readouterr().err
    shell = ip  # the notebook itself keeps working: a damaged current variant is reported, not fatal
    assert shell.run_cell("%wfnb status").success


def test_a_stray_file_among_the_variants_is_ignored(ip, probe, tmp_path, capsys):
    store = tmp_path / "store"
    _run_notebook(ip, store)
    _rewrite_ref(store, "workflows/notebook/variants/notes", {"hello": 1})
    assert list(wfnb.variants("notebook", store=str(store))["variant"]) == ["v1"]
    assert "field 'number'" in capsys.readouterr().err
    assert ip.run_cell("%%params\nscale = 3").success  # a new variant still gets a number
    assert ip.run_cell(NOTEBOOK[1]).success


# ----- the fuzz test
@pytest.fixture
def template(ip, probe, tmp_path) -> Path:
    """A real store with two variants, made by running the notebook twice with two parameters."""
    store = tmp_path / "template"
    _run_notebook(ip, store)
    assert ip.run_cell("%%params\nscale = 3").success
    for cell in NOTEBOOK[1:]:
        assert ip.run_cell(cell).success
    return store


def _mutate(path: Path, kind: str, position: float, payload: bytes) -> None:
    raw = path.read_bytes()
    at = min(int(position * len(raw)), max(len(raw) - 1, 0))
    if kind == "flip" and raw:
        path.write_bytes(raw[:at] + bytes([raw[at] ^ (payload[:1] or b"\x01")[0] or 1]) + raw[at + 1 :])
    elif kind == "truncate":
        path.write_bytes(raw[:at])
    elif kind == "extend":
        path.write_bytes(raw + (payload or b"\x00"))
    elif kind == "replace":
        path.write_bytes(payload)
    elif kind == "delete":
        path.unlink()
    elif kind == "reenvelope" and path.suffix == ".json":
        # Hostile: a document with a valid checksum around arbitrary data.
        try:
            envelope = json.loads(raw)
            kind, name = envelope["kind"], envelope["name"]
        except (ValueError, KeyError, TypeError):
            return  # already damaged by an earlier pick
        try:
            data = json.loads(payload.decode("utf-8", "replace") or "null")
        except ValueError:
            data = {"junk": payload.hex()}
        if not isinstance(data, dict):
            data = {"number": data, "variant": data, "steps": data, "outputs": data}
        path.write_bytes(pack_document(kind, name, data))


def _read_everything(root: Path, originals: dict[str, object]) -> None:
    """Everything a user can read; only WfnbError may escape, and nothing damaged may load."""
    calls = [
        lambda: open_store(root, create=False).verify(),
        lambda: wfnb.variants(store=str(root)),
        lambda: wfnb.runs(str(root)),
    ]
    for call in calls:
        try:
            call()
        except WfnbError:
            pass
    store = open_store(root, create=False)
    for ref in ("v1", "v2", "notebook/v1"):
        try:
            variant = wfnb.variant(ref, store=store)
            for name in variant.outputs:
                variant.outputs[name]
            _ = [step.code for step in variant.steps]
        except WfnbError:
            pass
    for digest, original in originals.items():
        try:
            value = store.get_object(digest)
        except WfnbError:
            continue
        assert hash_value(value) == hash_value(original)  # never a damaged value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["flip", "truncate", "extend", "replace", "delete", "reenvelope"]),
            st.floats(min_value=0, max_value=1),
            st.binary(max_size=64) | st.sampled_from([b"{}", b"[]", b'{"variant": 1}', b'{"number": 1, "steps": [{}]}']),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_fuzz_damaged_stores_give_clear_errors_only(template, tmp_path_factory, picks):
    root = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(template, root)
    store = open_store(root, create=False)
    originals = {}
    for path in _files(root, "objects"):
        digest = path.parent.name + path.name
        originals[digest] = store.get_object(digest)
    candidates = [p for top in ("objects", "records", "refs", "runs") for p in _files(root, top)] + [root / "FORMAT"]
    for index, kind, position, payload in picks:
        target = candidates[index % len(candidates)]
        if target.exists():
            _mutate(target, kind, position, payload)
    try:
        open_store(root, create=False)
    except StoreError:
        return  # a damaged FORMAT: refused at the door, with a message
    _read_everything(root, originals)
