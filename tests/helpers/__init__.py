"""Helpers shared by the tests: audio signals and files, graph files, plugins, batch/watch folders, one-node runs,
a fake terminal."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout under test
