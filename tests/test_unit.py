"""Run the C unit tests (common/, store/, msa/, spamd/ *_test.c) built with ASan
and UBSan."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD

TESTS = sorted(glob.glob(os.path.join(BUILD, "common", "*_test")) +
               glob.glob(os.path.join(BUILD, "store", "*_test")) +
               glob.glob(os.path.join(BUILD, "msa", "*_test")) +
               glob.glob(os.path.join(BUILD, "avscan", "*_test")) +
               glob.glob(os.path.join(BUILD, "spamd", "*_test")))


def test_unit_tests_exist():
    assert len(TESTS) >= 4, "no C unit tests built in " + BUILD


@pytest.mark.parametrize("binary", TESTS, ids=os.path.basename)
def test_unit(binary):
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-5000:]
    assert " 0 failed" in r.stdout, out[-5000:]
