"""Backends: the written interface the local and S3 files implement, and the registry that picks one by scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfnb.errors import StoreError
from wfnb.store import backend, open_store
from wfnb.store.backend import LOCAL, Backend, register_backend, scheme_of
from wfnb.store.localfs import LocalFiles
from wfnb.store.remote import RemoteFiles


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test end with it."""
    monkeypatch.setattr(backend, "_BACKENDS", dict(backend._BACKENDS))


def test_local_and_s3_files_implement_the_backend_interface(tmp_path: Path) -> None:
    assert isinstance(LocalFiles(tmp_path), Backend)
    assert isinstance(RemoteFiles("s3://bucket/prefix", None, "bucket/prefix", tmp_path), Backend)
    assert not isinstance(object(), Backend)


def test_the_scheme_of_a_location_chooses_its_backend() -> None:
    assert scheme_of("s3://bucket/prefix") == scheme_of("S3://bucket/prefix") == "s3"
    assert scheme_of("/home/me/.wfnb") == scheme_of("relative/s3://odd") == scheme_of("C:\\store") == LOCAL
    assert {"", "s3", "s3a"} <= set(backend._BACKENDS)


def test_a_registered_scheme_opens_its_backend_and_an_unknown_one_says_what_works(
    tmp_path: Path, registry: None
) -> None:
    with pytest.raises(StoreError, match=r"uses shelf://.*registered here: s3://, s3a://"):
        open_store("shelf://results")
    opened = []

    def open_shelf(location: str, write: bool) -> Backend:
        opened.append((location, write))
        return LocalFiles(tmp_path / location.split("://", 1)[1], read_only=not write)

    register_backend("shelf", open_shelf)
    store = open_store("shelf://results")
    digest = store.put_json({"a": 1})
    assert (tmp_path / "results" / "FORMAT").is_file()
    reader = open_store("SHELF://results", create=False, write=False)
    assert reader.get_json(digest) == {"a": 1} and reader.read_only
    assert opened == [("shelf://results", True), ("SHELF://results", False)]
