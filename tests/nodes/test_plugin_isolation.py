"""Plugins run in a worker process: a crash or a hang fails one job with its reason, the others complete."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from tests.helpers.graphs import write_graph
from tests.helpers.plugins import COMP_STEREO, broken_plugin, line_of, loud_quiet, needs_zam_plugins

from audiostyle_engine.errors import AudiostyleError, GraphValidationError
from audiostyle_engine.graph import load_graph
from audiostyle_engine.run import default_registry
from audiostyle_engine.run import run_graph
from tests.helpers.audio import read_audio, write_audio
from nodes._fx.chain import Entry
from audiostyle_engine.errors import PluginProcessError
from nodes._fx.plugin_client import PluginHost, shared_host

COMPRESS = Entry(0, "plugin", str(COMP_STEREO), params={"threshold_db": -30.0, "ratio": 8.0}).to_job()


@needs_zam_plugins
def test_a_plugin_that_segfaults_fails_its_job_and_the_next_jobs_complete(tmp_path, rng):
    crasher = Entry(0, "plugin", str(broken_plugin(tmp_path, "Crash"))).to_job()
    files = [loud_quiet(rng), loud_quiet(rng), loud_quiet(rng)]
    chains = [[COMPRESS], [crasher], [COMPRESS]]
    host = PluginHost()
    outcomes = []
    try:
        for chain, audio in zip(chains, files):  # a batch loop: one failure must not stop it
            try:
                outcomes.append(host.render(chain, audio, 44100, 0, time_limit=60)["samples"])
            except AudiostyleError as exc:
                outcomes.append(exc)
    finally:
        host.close()
    assert isinstance(outcomes[1], PluginProcessError)
    assert "killed by SIGSEGV" in str(outcomes[1]) and "Crash.vst3" in str(outcomes[1])
    for audio, out in ((files[0], outcomes[0]), (files[2], outcomes[2])):
        assert isinstance(out, np.ndarray) and out.shape == audio.shape
        assert np.max(np.abs(out)) < 0.8 * np.max(np.abs(audio))  # really compressed, not passed through
    assert host.workers_started == 2  # the crash cost one worker; the third file got a fresh one


@needs_zam_plugins
def test_a_plugin_that_hangs_is_stopped_at_the_time_limit(tmp_path, rng):
    hanger = str(broken_plugin(tmp_path, "Hang"))
    host = PluginHost()
    try:
        with pytest.raises(PluginProcessError, match=r"no result within 3 s while loading Hang\.vst3"):
            host.describe(hanger, time_limit=3)
        info = host.describe(str(COMP_STEREO))  # the queue goes on with a fresh worker
    finally:
        host.close()
    assert info["channels"] == [2]
    assert host.workers_started == 2


@needs_zam_plugins
def test_worker_killed_with_sigkill_mid_file_fails_only_that_file_in_a_batch_of_graph_runs(tmp_path, rng):
    out_dir = tmp_path / "out"
    graph = write_graph(tmp_path, f"""
        variables: {{input: x.wav, output: y.wav}}
        nodes:
          src: {{type: load, path: "${{input}}"}}
          fx:
            type: fx
            inputs: {{audio: src}}
            tail: 0
            chain:
              - plugin: {COMP_STEREO}
                params: {{threshold_db: -30, ratio: 8}}
          save: {{type: write, inputs: {{audio: fx}}, path: "${{output}}"}}
        """)
    inputs = [write_audio(tmp_path / f"in{i}.wav", loud_quiet(rng, seconds=3.0)) for i in range(3)]

    def kill_worker_once_rendering(event):
        # Plays the part of a plugin that crashes while processing the second file.
        if event.node_type == "fx" and event.message == "rendering":
            os.kill(shared_host().worker_pid, signal.SIGKILL)

    failures = {}
    for i, path in enumerate(inputs):
        hooks = [kill_worker_once_rendering] if i == 1 else []
        try:
            run_graph(graph, {"input": str(path), "output": str(out_dir / f"out{i}.wav")}, device="cpu", hooks=hooks)
        except AudiostyleError as exc:
            failures[i] = str(exc)
    assert list(failures) == [1]
    assert "node 'fx' (fx): plugin worker crashed (killed by SIGKILL)" in failures[1]
    assert not (out_dir / "out1.wav").exists()  # no half-written output for the failed file
    for i in (0, 2):
        samples, _ = read_audio(out_dir / f"out{i}.wav")
        assert samples.shape == (2, 3 * 44100)


@needs_zam_plugins
def test_workers_are_recycled_after_a_number_of_jobs(rng):
    host = PluginHost(max_jobs=2)
    pids = []
    try:
        for _ in range(5):
            host.render([COMPRESS], loud_quiet(rng), 44100, 0, time_limit=60)
            pids.append(host.worker_pid)
    finally:
        host.close()
    assert host.workers_started == 3
    assert len(set(pids)) == 3 and pids[0] == pids[1] and pids[2] == pids[3]


@needs_zam_plugins
def test_validation_reports_a_plugin_that_crashes_on_load_at_its_line(tmp_path, wav_file):
    from tests.helpers.audio import sine

    crasher = broken_plugin(tmp_path, "Crash")
    src = wav_file("in.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {crasher}
        """)
    with pytest.raises(GraphValidationError) as err:
        load_graph(graph, default_registry())
    assert (f"g.yaml:{line_of(graph, 'Crash.vst3')}:17: node 'fx' (fx): plugin worker crashed (killed by SIGSEGV) "
            "while loading Crash.vst3") in str(err.value)
    # The process running validation is still here, and so is a working host.
    assert shared_host().describe(str(COMP_STEREO))["name"] == "ZamCompX2"


@needs_zam_plugins
def test_missing_plugin_and_non_plugin_file_are_validation_errors(tmp_path, wav_file):
    from tests.helpers.audio import sine

    src = wav_file("in.wav", sine(channels=2))
    not_a_plugin = tmp_path / "notes.vst3"
    not_a_plugin.write_text("hello")
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: /nowhere/Missing.vst3
              - plugin: ZamCompXX2
              - plugin: {not_a_plugin}
        """)
    with pytest.raises(GraphValidationError) as err:
        load_graph(graph, default_registry())
    text = str(err.value)
    assert "3 errors:" in text
    assert f"g.yaml:{line_of(graph, 'Missing')}:17: node 'fx' (fx): plugin not found: /nowhere/Missing.vst3" in text
    assert f"g.yaml:{line_of(graph, 'XX2')}:17: node 'fx' (fx): plugin not found: ZamCompXX2; did you mean 'ZamCompX2'?" in text
    assert f"g.yaml:{line_of(graph, 'notes')}:17: node 'fx' (fx): cannot load plugin {not_a_plugin}" in text
