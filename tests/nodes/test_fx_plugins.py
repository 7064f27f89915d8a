"""fx chains hosting real third-party VST3 plugins (Debian's zam-plugins): parameters from YAML,
validation before the run, presets and saved state, bypass, latency, tails, block streaming."""
from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.graphs import write_graph
from tests.helpers.plugins import (COMP_STEREO, DELAY_MONO, LIMITER_STEREO, SAT_MONO, level_spread_db, line_of, loud_quiet,
                                   needs_zam_plugins)

from audiostyle_engine.errors import GraphValidationError
from audiostyle_engine.graph import load_graph
from audiostyle_engine.run import default_registry
from audiostyle_engine.run import run_graph
from tests.helpers.audio import read_audio, sine, write_audio


NO_TAIL = "    tail: 0"


def run_fx(tmp_path, audio: np.ndarray, chain_yaml: str, extra: str = "", name: str = "g.yaml") -> np.ndarray:
    """Run load → fx → (kept) and return the fx output samples."""
    src = write_audio(tmp_path / f"in_{name}.wav", audio, bit_depth=32)
    graph = write_graph(tmp_path, f"""
        nodes:
          src:
            type: load
            path: {src}
          fx:
            type: fx
            inputs: {{audio: src}}
        {extra}
            chain:
        {chain_yaml}
        """, name)
    result = run_graph(graph, keep={"fx"}, device="cpu")
    return result.values["fx"]["audio"].samples


@needs_zam_plugins
def test_compressor_params_from_yaml_compress_the_dynamics(tmp_path, rng):
    x = loud_quiet(rng)
    squashed = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
                params: {{threshold_db: -30, ratio: 10, attack_ms: 0.1, release_ms: 50}}
        """, NO_TAIL, "a.yaml")
    untouched = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
        """, NO_TAIL, "b.yaml")
    assert squashed.shape == x.shape
    # Default threshold (0 dBFS) leaves the 20 dB loud/quiet difference alone; -30 dB at 10:1 flattens it.
    assert level_spread_db(x) == pytest.approx(20.0, abs=0.5)
    assert level_spread_db(untouched) == pytest.approx(level_spread_db(x), abs=0.5)
    assert level_spread_db(squashed) < 8.0


@needs_zam_plugins
def test_plugin_by_name_and_builtin_effect_in_one_chain(tmp_path, rng):
    x = loud_quiet(rng)
    out = run_fx(tmp_path, x, """
              - plugin: ZamCompX2
                params: {threshold_db: -40, ratio: 20, stereo_detection: true}
              - effect: Gain
                gain_db: -6
        """, NO_TAIL)
    assert level_spread_db(out) < 12.0  # from 20 dB
    assert np.max(np.abs(out)) < 0.5 * np.max(np.abs(x))


@needs_zam_plugins
def test_bad_parameter_name_and_out_of_range_value_fail_validation_with_their_lines(tmp_path, wav_file):
    src = wav_file("in.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src:
            type: load
            path: {src}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {COMP_STEREO}
                params:
                  treshold_db: -20
                  ratio: 35
              - plugin: {COMP_STEREO}
                params:
                  current_program: VocalLevler
                  gain_reduction_db: 3
        """)
    with pytest.raises(GraphValidationError) as err:
        load_graph(graph, default_registry())
    text = str(err.value)
    assert text.startswith("4 errors:")
    assert f"{graph}:{line_of(graph, 'treshold_db')}:" in text
    assert "ZamCompX2.vst3 has no parameter 'treshold_db'; did you mean 'threshold_db'?" in text
    assert f"{graph}:{line_of(graph, 'ratio: 35')}:" in text
    assert "ratio=35 out of range [1, 20]" in text
    assert "did you mean 'VocalLeveller'?" in text
    assert "'gain_reduction_db' is read-only" in text


@needs_zam_plugins
def test_mono_only_plugin_fed_stereo_is_caught_before_the_run(tmp_path, wav_file):
    src = wav_file("stereo.wav", sine(channels=2))
    out = tmp_path / "out.wav"
    text = f"""
        nodes:
          src:
            type: load
            path: {src}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {SAT_MONO}
          save:
            type: write
            inputs: {{audio: fx}}
            path: {out}
        """
    graph = write_graph(tmp_path, text)
    with pytest.raises(GraphValidationError) as err:
        run_graph(graph, device="cpu")
    message = str(err.value)
    assert f"{graph}:{line_of(graph, 'plugin:')}:" in message
    assert "ZamAutoSat.vst3 takes mono (1 channel) but receives 2 channels" in message
    assert "add a 'mono' node" in message
    assert not out.exists()

    # The fix the message names makes the same graph valid and runnable.
    fixed = text.replace("inputs: {audio: src}\n            chain", "inputs: {audio: down}\n            chain").replace(
        "          fx:\n", "          down:\n            type: mono\n            inputs: {audio: src}\n          fx:\n")
    graph = write_graph(tmp_path, fixed, "fixed.yaml")
    run_graph(graph, device="cpu")
    samples, _ = read_audio(out)
    assert samples.shape[0] == 1


@needs_zam_plugins
def test_channel_check_follows_the_graph_through_a_mono_node_and_bypass(tmp_path, wav_file):
    src = wav_file("stereo.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          stereo_fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {COMP_STEREO}
              - plugin: {SAT_MONO}
                bypass: true
          down: {{type: mono, inputs: {{audio: stereo_fx}}}}
          mono_fx:
            type: fx
            inputs: {{audio: down}}
            chain:
              - plugin: {SAT_MONO}
        """)
    g = load_graph(graph, default_registry())
    assert g.streams[("src", "audio")].channels == 2
    assert g.streams[("down", "audio")].channels == 1
    assert g.streams[("mono_fx", "audio")].channels == 1


@needs_zam_plugins
def test_bypass_passes_audio_through_untouched(tmp_path, rng):
    x = loud_quiet(rng)
    out = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
                params: {{threshold_db: -40, ratio: 20}}
                bypass: true
        """, NO_TAIL)
    np.testing.assert_array_equal(out, x)


@needs_zam_plugins
def test_preset_and_saved_state_reproduce_the_parameters(tmp_path, rng):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import shared_host

    job = Entry(0, "plugin", str(COMP_STEREO), params={"threshold_db": -35.0, "ratio": 12.0}).to_job()
    preset = tmp_path / "squash.vstpreset"
    preset.write_bytes(shared_host().save_state(job, as_preset=True))
    state = tmp_path / "squash.state"
    state.write_bytes(shared_host().save_state(job, as_preset=False))
    x = loud_quiet(rng)
    by_params = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
                params: {{threshold_db: -35, ratio: 12}}
        """, NO_TAIL, "p.yaml")
    by_preset = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
                preset: {preset}
        """, NO_TAIL, "q.yaml")
    by_state = run_fx(tmp_path, x, f"""
              - plugin: {COMP_STEREO}
                state: {state}
        """, NO_TAIL, "r.yaml")
    assert level_spread_db(by_params) < 10.0
    np.testing.assert_allclose(by_preset, by_params, atol=1e-6)
    np.testing.assert_allclose(by_state, by_params, atol=1e-6)


@needs_zam_plugins
def test_latency_of_a_lookahead_limiter_is_compensated(tmp_path):
    x = np.zeros((2, 44100), np.float32)
    x[:, 10000] = 0.25  # an impulse well below the ceiling: the limiter only delays it
    out = run_fx(tmp_path, x, f"""
              - plugin: {LIMITER_STEREO}
        """, NO_TAIL)
    assert out.shape == x.shape
    assert int(np.argmax(np.abs(out[0]))) == 10000
    assert np.max(np.abs(out[0])) == pytest.approx(0.25, rel=0.05)


@needs_zam_plugins
def test_delay_tail_is_rendered_to_the_end(tmp_path):
    import pedalboard

    sr = 44100
    x = np.zeros((1, sr // 2), np.float32)
    x[0, :2000] = sine(sr, 440, 2000 / sr)[0]
    out = run_fx(tmp_path, x, f"""
              - plugin: {DELAY_MONO}
                params: {{time_ms: 300, feedback: 0.6, dry_wet: 0.5, lpf_hz: 20000}}
        """)
    # A reference with ten seconds of room: everything it holds after our end is below the silence threshold.
    reference_plugin = pedalboard.load_plugin(str(DELAY_MONO))
    for name, value in dict(time_ms=300, feedback=0.6, dry_wet=0.5, lpf_hz=20000).items():
        setattr(reference_plugin, name, value)
    reference = reference_plugin(np.pad(x, ((0, 0), (0, 10 * sr))), sr, buffer_size=512, reset=True)
    end = out.shape[1]
    assert end > x.shape[1] + int(1.0 * sr)  # echoes every 0.3 s at 0.6 feedback ring for seconds
    assert np.max(np.abs(reference[:, end:])) < 10 ** (-90 / 20)
    np.testing.assert_allclose(out, reference[:, :end], atol=1e-6)
    late_echo = out[:, x.shape[1]:]
    assert np.max(np.abs(late_echo)) > 0.05  # the echoes after the input are there, not cut


def test_builtin_reverb_tail_is_not_cut(tmp_path):
    import pedalboard

    x = sine(seconds=0.3, channels=2)
    out = run_fx(tmp_path, x, """
              - effect: Reverb
                room_size: 0.8
        """)
    reference = pedalboard.Reverb(room_size=0.8)(np.pad(x, ((0, 0), (0, 20 * 44100))), 44100, reset=True)
    end = out.shape[1]
    assert end > x.shape[1] + 44100  # a large room rings for more than a second
    assert np.max(np.abs(reference[:, end:])) < 10 ** (-90 / 20)  # what follows our end is below -90 dBFS
    np.testing.assert_allclose(out, reference[:, :end], atol=1e-6)


@needs_zam_plugins
def test_block_streamed_output_equals_whole_file_output(rng):
    import pedalboard

    from nodes._fx.render import render

    x = (0.4 * rng.standard_normal((2, 3 * 44100))).astype(np.float32)
    plugin = pedalboard.load_plugin(str(LIMITER_STEREO))
    plugin.threshold_db = -12.0
    latency = plugin.reported_latency_samples
    assert latency > 0  # the check below also covers latency handling across block edges
    whole = plugin(x, 44100, buffer_size=512, reset=True)  # one call: pedalboard's own compensation
    streamed = render(plugin, x, 44100, tail=0, block_frames=4096)
    odd_blocks = render(plugin, x, 44100, tail=0, block_frames=3000)  # rounded up to a multiple of 512
    np.testing.assert_array_equal(streamed.samples, whole)
    np.testing.assert_array_equal(odd_blocks.samples, whole)


@needs_zam_plugins
def test_block_streaming_in_the_worker_equals_one_block(rng):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import shared_host

    x = loud_quiet(rng, seconds=2.0)
    chain = [Entry(0, "plugin", str(COMP_STEREO), params={"threshold_db": -30.0, "ratio": 6.0}).to_job(),
             Entry(1, "effect", "Reverb", params={"room_size": 0.6}).to_job()]
    small = shared_host().render(chain, x, 44100, "auto", time_limit=120, block_frames=2048)
    large = shared_host().render(chain, x, 44100, "auto", time_limit=120, block_frames=1 << 20)
    assert small["samples"].shape[1] > x.shape[1]
    np.testing.assert_array_equal(small["samples"], large["samples"])


@needs_zam_plugins
def test_plugin_state_is_reset_between_files(rng):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import PluginHost

    loud = loud_quiet(rng, channels=1)
    quiet = 0.01 * loud_quiet(rng, channels=1)
    echo = Entry(0, "plugin", str(DELAY_MONO), params={"time_ms": 200, "feedback": 0.9}).to_job()
    default = Entry(0, "plugin", str(DELAY_MONO)).to_job()
    host = PluginHost()
    fresh = PluginHost()
    try:
        host.render([echo], loud, 44100, 0, time_limit=120)  # leaves echoes and feedback=0.9 behind
        after = host.render([default], quiet, 44100, 0, time_limit=120)["samples"]
        alone = fresh.render([default], quiet, 44100, 0, time_limit=120)["samples"]
        assert host.workers_started == 1  # the same worker, the same loaded plugin
    finally:
        host.close()
        fresh.close()
    np.testing.assert_array_equal(after, alone)


def test_builtin_effect_errors_point_at_their_parameter_lines(tmp_path, wav_file):
    src = wav_file("in.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - effect: Reverb
                room_size: 2
              - effect: Compressor
                params: {{ratio: 0.5}}
              - effect: Reverbb
        """)
    with pytest.raises(GraphValidationError) as err:
        load_graph(graph, default_registry())
    text = str(err.value)
    assert f"g.yaml:{line_of(graph, 'room_size')}:" in text and "Room Size value must be between 0.0 and 1.0" in text
    assert f"g.yaml:{line_of(graph, 'ratio: 0.5')}:" in text and "ratio=0.5" in text
    assert f"g.yaml:{line_of(graph, 'Reverbb')}:" in text and "did you mean 'Reverb'?" in text


@needs_zam_plugins
def test_values_the_plugin_does_not_take_are_caught_at_validation(tmp_path, wav_file):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import shared_host

    comp_preset = tmp_path / "comp.vstpreset"
    comp_preset.write_bytes(shared_host().save_state(Entry(0, "plugin", str(COMP_STEREO)).to_job(), as_preset=True))
    src = wav_file("in.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {COMP_STEREO}
                params:
                  threshold_db: -30
                  current_program: PoppySnare
              - plugin: {LIMITER_STEREO}
                preset: {comp_preset}
        """)
    with pytest.raises(GraphValidationError) as err:
        load_graph(graph, default_registry())
    text = str(err.value)
    # The program set after the threshold overwrites it: a parameter that would silently not apply.
    assert f"g.yaml:{line_of(graph, 'threshold_db')}:" in text
    assert "did not take threshold_db=-30" in text and "list that one first" in text
    assert f"g.yaml:{line_of(graph, 'preset:')}:" in text and "ZaMaximX2.vst3 cannot use preset" in text
    # In the other order the program is the starting point and the threshold applies.
    graph.write_text(graph.read_text().replace("threshold_db: -30\n          current_program: PoppySnare",
                                               "current_program: PoppySnare\n          threshold_db: -30")
                     .replace(f"preset: {comp_preset}", "bypass: true"))
    load_graph(graph, default_registry())


@needs_zam_plugins
def test_dual_mono_runs_a_mono_plugin_once_per_channel(tmp_path, wav_file, rng):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import shared_host

    stereo = np.stack([sine(hz=220)[0], loud_quiet(rng, channels=1)[0]])
    graph_text = f"""
        nodes:
          src: {{type: load, path: {wav_file("st.wav", stereo, bit_depth=32)}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            tail: 1.0
            chain:
              - plugin: {DELAY_MONO}
                params: {{time_ms: 120, feedback: 0.5}}
                layout: dual_mono
        """
    out = run_graph(write_graph(tmp_path, graph_text), keep={"fx"}, device="cpu").values["fx"]["audio"].samples
    delay = Entry(0, "plugin", str(DELAY_MONO), params={"time_ms": 120, "feedback": 0.5}).to_job()
    for c in range(2):
        alone = shared_host().render([delay], stereo[c:c + 1], 44100, 1.0, time_limit=60)["samples"]
        np.testing.assert_array_equal(out[c:c + 1], alone)
    # Without the layout, the message names the fixes.
    graph = write_graph(tmp_path, graph_text.replace("layout: dual_mono", "bypass: false"), "plain.yaml")
    with pytest.raises(GraphValidationError, match="takes mono .* but receives 2 channels.*'layout: dual_mono'"):
        load_graph(graph, default_registry())


@needs_zam_plugins
def test_chains_with_dual_mono_stages_stream_exactly_too(rng):
    from nodes._fx.chain import Entry
    from nodes._fx.plugin_client import shared_host

    x = (0.3 * rng.standard_normal((2, 2 * 44100))).astype(np.float32)
    chain = [Entry(0, "effect", "Gain", params={"gain_db": 3.0}).to_job(),
             Entry(1, "plugin", str(DELAY_MONO), params={"time_ms": 90, "feedback": 0.4}, layout="dual_mono").to_job(),
             Entry(2, "plugin", str(LIMITER_STEREO), params={"threshold_db": -6.0}).to_job()]  # 480 samples latency
    small = shared_host().render(chain, x, 44100, "auto", time_limit=120, block_frames=1000)
    large = shared_host().render(chain, x, 44100, "auto", time_limit=120, block_frames=1 << 20)
    assert small["samples"].shape[1] > x.shape[1]
    np.testing.assert_array_equal(small["samples"], large["samples"])
