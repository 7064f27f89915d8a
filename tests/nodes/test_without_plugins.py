"""On a machine without the zam-plugins VST3s the plugin tests skip, with the reason, instead of failing."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

PLUGIN_TESTS = ("tests/nodes/test_fx_plugins.py", "tests/nodes/test_plugin_isolation.py",
                "tests/cli/test_cli_plugins.py", "tests/engine/test_provenance.py")


@pytest.mark.slow  # runs four test files again in a subprocess
def test_plugin_tests_skip_where_the_plugin_folder_is_missing(tmp_path):
    env = {**os.environ, "AUDIOSTYLE_TEST_VST3_DIR": str(tmp_path / "no-vst3-here")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *PLUGIN_TESTS],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " skipped" in proc.stdout and "failed" not in proc.stdout
    assert "needs the zam-plugins VST3s in" in proc.stdout and "apt install zam-plugins" in proc.stdout
