"""Which distribution provides a module, for the version in a library function's hash.

The answer must be Python's own (``importlib.metadata.packages_distributions``), but found
without parsing every installed distribution's metadata: on a first hit in a fresh kernel,
a step calling scikit-learn (whose distribution is not named like its module) waited most
of a second for that.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import sklearn

from wfnb.cache import codeorigin

COUNT_METADATA_READS = """
import sys
reads = []
sys.addaudithook(lambda event, args: reads.append(args[0]) if event == "open" and str(args[0]).endswith("METADATA") else None)
from wfnb.cache.codeorigin import module_version
version = module_version("sklearn")
print(version, len(reads))
"""


def test_the_distributions_of_each_module_are_python_s_own_answer() -> None:
    # Python 3.12+ also infers `__pycache__` from single-module distributions' .pyc files: no module has that name
    python_s = {top: sorted(set(names)) for top, names in importlib.metadata.packages_distributions().items() if top != "__pycache__"}
    ours = {top: codeorigin._distributions_providing(top) for top in python_s}
    if sys.version_info >= (3, 11):
        assert ours == python_s
    else:  # Python 3.10 reads top_level.txt alone; ours also infers the names from the files, as 3.11 does
        assert all(set(names) <= set(ours[top]) for top, names in python_s.items())
    assert codeorigin._distributions_providing("sklearn") == ["scikit-learn"]
    assert codeorigin._distributions_providing("no_such_module_anywhere") == []


def test_a_version_lookup_parses_the_metadata_of_the_distribution_asked_about_only() -> None:
    done = subprocess.run([sys.executable, "-c", COUNT_METADATA_READS], capture_output=True, text=True, check=True, timeout=120)
    version, reads = done.stdout.split()
    assert version == sklearn.__version__
    installed = sum(1 for _ in importlib.metadata.distributions())
    assert installed > 20  # a venv with the test extras: a full scan would read each one's METADATA
    assert int(reads) <= 3, f"{reads} METADATA files read to find sklearn's version"


def test_the_files_read_from_record_are_the_files_python_lists() -> None:
    for dist in importlib.metadata.distributions():
        assert codeorigin._installed_paths(dist) == [path.parts for path in dist.files or ()], dist.metadata["Name"]
    assert codeorigin._direct_version("pandas") == importlib.metadata.version("pandas")  # no top_level.txt in its wheel


def test_names_and_versions_read_from_the_header_lines_are_the_metadata_s() -> None:
    for dist in importlib.metadata.distributions():
        assert codeorigin._metadata_field(dist, "Name") == dist.metadata["Name"]
        assert codeorigin._metadata_field(dist, "Version") == dist.version
