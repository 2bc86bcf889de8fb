"""Run the C unit tests (every <folder>/*_test.c: common/, the stages) built
with ASan and UBSan."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# every foo_test.c in the tree must have been built and must run
# (and the store's protocol folders, store/imap/*_test.c and the like)
SOURCES = sorted(glob.glob(os.path.join(ROOT, "*", "*_test.c")) +
                 glob.glob(os.path.join(ROOT, "store", "*", "*_test.c")))
TESTS = [os.path.join(BUILD, os.path.relpath(s, ROOT)[:-2]) for s in SOURCES]


def test_unit_tests_exist():
    assert len(SOURCES) >= 16, "unit test sources went missing"
    missing = [t for t in TESTS if not os.access(t, os.X_OK)]
    assert not missing, "unit tests not built: %s" % missing


@pytest.mark.parametrize("binary", TESTS, ids=os.path.basename)
def test_unit(binary):
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-5000:]
    assert " 0 failed" in r.stdout, out[-5000:]
