"""Names that say one thing: the public ``Variant`` is the only class of that name, a validator's name is not
reused for another check, and the digest of what is absent has one definition (it is part of every key)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import wfnb
from wfnb.cache import fingerprint, localmodules, probes, stepvalues
from wfnb.cache.files import ABSENT, path_digest

PACKAGE = Path(wfnb.__file__).parent


def _top_level(kind: type[ast.AST]) -> list[tuple[str, ast.AST]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += [(str(path.relative_to(PACKAGE)), node) for node in ast.parse(path.read_text()).body if isinstance(node, kind)]
    return found


def test_the_public_variant_is_the_only_class_called_variant() -> None:
    variants = [module for module, node in _top_level(ast.ClassDef) if node.name == "Variant"]
    assert variants == ["history/variants.py"] and wfnb.Variant.__module__ == "wfnb.history.variants"


def test_no_two_validators_share_a_name() -> None:
    checks = Counter(node.name for _, node in _top_level(ast.FunctionDef) if node.name.startswith("check_"))
    assert [name for name, count in checks.items() if count > 1] == []


def test_the_digest_of_what_is_absent_is_defined_once(tmp_path: Path) -> None:
    definitions = [
        module
        for module, node in _top_level(ast.Assign)
        if isinstance(node.value, ast.Constant) and node.value.value == "absent"
    ]
    assert definitions == ["cache/files.py"]
    assert fingerprint.ABSENT is probes.ABSENT is stepvalues.ABSENT is localmodules.ABSENT is ABSENT == "absent"
    assert path_digest(tmp_path / "nothing-here") == ABSENT
