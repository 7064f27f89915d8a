"""Quality numbers: equal loudness first, the trivial outputs at the ends of each scale."""
from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.tiny_runs import SR, content_signal, style_signal

from audiostyle_engine.report.quality import QualityReference


@pytest.fixture(scope="module")
def reference():
    return QualityReference.build(content_signal(), SR, style_signal(), SR)


def test_trivial_outputs_sit_at_the_ends(reference):
    content_row = reference.measure("content again", content_signal(), SR)
    style_row = reference.measure("style again", style_signal(), SR)
    assert content_row.content_correlation == pytest.approx(1.0, abs=1e-6)
    assert content_row.style_position == pytest.approx(0.0, abs=1e-6)
    assert style_row.style_distance_db == pytest.approx(0.0, abs=1e-6)
    assert style_row.content_position == pytest.approx(0.0, abs=1e-6)
    assert reference.content_row.style_distance_db > 10


def test_a_quieter_copy_is_not_closer(reference):
    loud = reference.measure("mix", 0.5 * content_signal() + 0.5 * style_signal(), SR)
    quiet = reference.measure("mix -30 dB", 0.0316 * (0.5 * content_signal() + 0.5 * style_signal()), SR)
    assert quiet.content_correlation == pytest.approx(loud.content_correlation, abs=1e-4)
    assert quiet.style_distance_db == pytest.approx(loud.style_distance_db, abs=1e-3)


def test_more_style_in_a_blend_moves_it_towards_the_style(reference):
    positions = [reference.measure(f"{w}", (1 - w) * content_signal() + w * style_signal(), SR) for w in (0.2, 0.5, 0.8)]
    style_positions = [r.style_position for r in positions]
    content_positions = [r.content_position for r in positions]
    assert style_positions == sorted(style_positions) and 0 < style_positions[0] and style_positions[-1] < 1
    assert content_positions == sorted(content_positions, reverse=True)


def test_another_sample_rate_and_stereo_are_brought_to_the_content(reference):
    import librosa

    stereo_44k = np.repeat(librosa.resample(content_signal(), orig_sr=SR, target_sr=44100, axis=-1), 2, axis=0)
    row = reference.measure("44.1 kHz stereo content", stereo_44k, 44100)
    assert row.content_correlation > 0.97 and row.style_position < 0.05


def test_style_distance_splits_into_its_statistics(reference):
    row = reference.measure("blend", 0.5 * content_signal() + 0.5 * style_signal(), SR)
    parts = np.array([row.style_level_db, row.style_spread_db, row.style_change_db])
    assert np.all(parts > 0)
    assert row.style_distance_db == pytest.approx(float(np.sqrt(np.mean(parts ** 2))), rel=1e-5)


def test_layering_curve_runs_from_the_content_to_the_style_and_margins_read_off_it(rng):
    from audiostyle_engine.report import quality as q

    sr = 22050
    t = np.arange(sr) / sr
    content = (0.3 * np.sin(2 * np.pi * 440 * t))[None]
    style = (0.3 * rng.standard_normal(sr))[None]
    ref = q.QualityReference.build(content, sr, style, sr)
    curve = ref.frontier()
    assert curve[0].label == "content itself" and curve[-1].label == "style itself"
    positions = [r.style_position for r in curve]
    assert positions[1] > 0.0 and positions[-2] < 1.0
    assert all(a <= b + 0.05 for a, b in zip(positions, positions[1:]))  # more style in the mix, closer to it
    mix = curve[3]
    assert abs(q.frontier_margin(mix, curve)) < 1e-9  # a point of the curve sits on it
    above = {"content_position": mix.content_position, "style_position": mix.style_position + 0.2}
    assert abs(q.frontier_margin(above, curve) - 0.2) < 1e-9


def test_layering_curve_is_sampled_where_it_bends_near_the_content(rng):
    """A little noise under a gated tone fills every gap at once, so the curve bends hard near the content:
    a 5 % mix must sit on the curve, not far above a straight line from the content to a 20 % mix."""
    from audiostyle_engine.report import quality as q

    sr = 22050
    t = np.arange(2 * sr) / sr
    gate = (np.sin(2 * np.pi * 2 * t) > 0).astype(float)  # the tone is silent half of the time
    content = (0.3 * np.sin(2 * np.pi * 440 * t) * gate)[None]
    style = (0.3 * rng.standard_normal(t.size))[None]
    ref = q.QualityReference.build(content, sr, style, sr)
    curve = ref.frontier()
    a_little = ref.measure("5 % mix", 0.95 * ref.content + 0.05 * np.resize(ref.style, ref.content.size), sr)
    assert a_little.style_position > 0.1  # the bend: 5 % of the style already moves the style position
    assert abs(q.frontier_margin(a_little, curve)) < 0.02



def test_placebos_are_the_curves_mixes_placed_elsewhere_and_bound_a_level_verdict(rng):
    """A result's margin to the layering curve is read against what the same mixes score with the style only
    placed elsewhere: inside that range it is level with layering, whatever its sign."""
    from audiostyle_engine import settings
    from audiostyle_engine.report import quality as q
    from audiostyle_engine.report.page import layering_verdict

    sr = 22050
    t = np.arange(2 * sr) / sr
    on = (t % 1.0) < 0.5  # a note every second; the style's noise bursts land on the notes, unshifted
    content = (0.3 * np.sin(2 * np.pi * 440 * t) * on)[None]
    style = (0.3 * rng.standard_normal(t.size) * on)[None]
    ref = q.QualityReference.build(content, sr, style, sr)
    curve = ref.frontier()
    assert q.margin_range(ref.placebos(shifts=(0.0,)), curve) == pytest.approx((0.0, 0.0), abs=1e-9)
    placebos = ref.placebos()
    assert len(placebos) == len(settings.QUALITY_PLACEBO_FRACTIONS) * len(settings.REPORT_PLACEBO_SHIFTS)
    lo, hi = q.margin_range(placebos, curve)
    assert hi - lo > 0.05  # shifted off the notes, the bursts fill the gaps between them instead
    assert layering_verdict(lo / 2, (lo, hi)).startswith("is level with")  # the sign alone said "does not beat"
    assert layering_verdict(hi + 0.01, (lo, hi)).startswith("beats")
    assert layering_verdict(lo - 0.01, (lo, hi)).startswith("does not beat")
    assert layering_verdict(0.01).startswith("beats") and layering_verdict(None) == "not measured"  # no placebos: the sign


def test_matching_fraction_finds_where_a_falling_curve_crosses_the_target():
    from audiostyle_engine.report.quality import matching_fraction

    falling = lambda f: 1.0 - f ** 2  # noqa: E731
    assert matching_fraction(falling, 0.75, tolerance=1e-4) == pytest.approx(0.5, abs=1e-3)
    assert matching_fraction(falling, 1.0) == 0.0  # the content itself: no style at all
    assert matching_fraction(falling, 0.05, highest=0.95) is None  # even 95 % style keeps more of the content


def test_the_matched_mix_keeps_the_content_as_well_as_the_result(reference):
    from audiostyle_engine.report.quality import content_correlation, to_reference

    blend = 0.7 * reference.content + 0.3 * np.resize(reference.style, reference.content.size)
    target = reference.measure("blend", blend, SR).content_correlation
    fraction, mixed = reference.matched_mix(target)
    assert fraction == pytest.approx(0.3, abs=0.02)  # the blend is such a mix: its own fraction comes back
    assert content_correlation(to_reference(mixed, SR, SR), reference.content) == pytest.approx(target, abs=0.002)
    assert reference.matched_mix(float("nan")) is None


def test_placebos_move_a_loop_that_shares_the_contents_bar(rng):
    """A one-bar loop under four bars of content: shifts of a quarter, half and three quarters of the length
    are whole bars, which move nothing; the report's placebos must land elsewhere, or their range says nothing."""
    from audiostyle_engine.report import quality as q

    sr, bar = 22050, 22050
    t = np.arange(4 * bar) / sr
    content = (0.3 * np.sin(2 * np.pi * 330 * t) * ((t % 1.0) < 0.5))[None]
    loop = 0.3 * rng.standard_normal(bar) * ((np.arange(bar) / sr) < 0.25)  # one burst per bar, on the note
    ref = q.QualityReference.build(content, sr, loop[None], sr)
    curve = ref.frontier()
    assert q.margin_range(ref.placebos(shifts=(0.25, 0.5, 0.75)), curve) == pytest.approx((0.0, 0.0), abs=1e-6)
    lo, hi = q.margin_range(ref.placebos(), curve)
    assert hi - lo > 0.02
