"""Style-transfer quality benchmark: the paper's default against each option, on the paper's kinds of pair.

    python bench/quality.py [--content-seconds 3] [--iterations 50] [--n-filters 512] [--configs a,b]
                            [--pairs speech+drums,...] [--json out/quality.json] [--tagger]
                            [--source devset [--held-out | --fresh | --unseen | --all-sets] [--excerpt N]] [--jobs 2]

For each pair (content, style) it writes the generated clips (bench/signals.py), runs the
style-transfer graph once per optimiser configuration (each run feeds several istft branches, so
phase-reconstruction options share one optimisation), and measures every output WAV with
audiostyle_engine.quality at equal RMS. Reference rows give the scale: "content" (output = content),
"mix20" etc. (content + 20 % style at equal RMS: the mix frontier, MIX_FRACTIONS), "style*" (another excerpt of
the style), and "placebo6@shift25" etc. (the same mixes with the style placed elsewhere: their margins to the
frontier are the noise a configuration's margin is read against).

Summary columns: `pos` = mean over the style measures of d(output, style) / d(content, style)
(1 = where the content is, 0 = where the style is); `vs_paper` = mean over measures and pairs of
d(config) / d(paper default) − 1 (negative = closer to the style than the paper default).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import signals  # noqa: E402
from audiostyle_engine import quality, settings  # noqa: E402

SR = signals.SR

# Optimiser configurations: name -> style_transfer params beyond the shared ones.
OPTIMISERS = {
    "paper": {},
    "bounded_lbfgsb": {"optimizer": "lbfgs-b", "lower_bound": 0.0},
    "bounded_lbfgs": {"lower_bound": 0.0},
    "content_init": {"init": "content", "lower_bound": 0.0},
    "autocorr": {"autocorrelation_weight": 3.0},
    "widths": {"extra_kernel_widths": [3, 25]},
    "waveform": {"domain": "waveform"},
    "waveform_content": {"domain": "waveform", "init": "content"},
    "combined": {"lower_bound": 0.0, "autocorrelation_weight": 3.0, "extra_kernel_widths": [3, 25]},
    "combined_wave": {"domain": "waveform", "init": "content", "autocorrelation_weight": 3.0,
                      "extra_kernel_widths": [3, 25]},
    "wave_autocorr": {"domain": "waveform", "init": "content", "autocorrelation_weight": 3.0},
    "wave_widths": {"domain": "waveform", "init": "content", "extra_kernel_widths": [3, 25]},
    "wave_strong": {"domain": "waveform", "init": "content", "autocorrelation_weight": 3.0,
                    "extra_kernel_widths": [3, 25], "alpha": 0.03},
    # α presets on the winner (waveform from the content): subtle / strong.
    "wave_alpha1": {"domain": "waveform", "init": "content", "alpha": 1.0},
    "wave_alpha001": {"domain": "waveform", "init": "content", "alpha": 0.01},
    "wave_alpha03": {"domain": "waveform", "init": "content", "alpha": 0.3},
    "wave_alpha10": {"domain": "waveform", "init": "content", "alpha": 10.0},
    "wave_alpha1_autocorr": {"domain": "waveform", "init": "content", "alpha": 1.0, "autocorrelation_weight": 3.0},
    "wave_alpha1_all": {"domain": "waveform", "init": "content", "alpha": 1.0, "autocorrelation_weight": 3.0,
                        "extra_kernel_widths": [3, 25]},
    # Longer rhythm memory, and several random widths with more filters (Antognini et al. 2019), on the winner.
    "wave_autocorr3s": {"domain": "waveform", "init": "content", "alpha": 1.0, "autocorrelation_weight": 3.0,
                        "autocorrelation_seconds": 3.0},
    "wave_antognini": {"domain": "waveform", "init": "content", "alpha": 1.0, "n_filters": 2048,
                       "extra_kernel_widths": [3, 25, 51]},
    "logmag_antognini": {"init": "content", "lower_bound": 0.0, "alpha": 1.0, "n_filters": 1024,
                         "extra_kernel_widths": [3, 25, 51]},
}
# DSP and post-processing configurations: name -> (style_transfer params or None for no style
# transfer, match node params applied to the output with the style as reference).
POST = {
    "match": (None, {}),
    "match_envelope": (None, {"envelope": 1.0}),
    "wave_alpha1+match": ({"domain": "waveform", "init": "content", "alpha": 1.0}, {}),
    "wave_content+match": ({"domain": "waveform", "init": "content"}, {}),
    "wave_alpha1+match_envelope": ({"domain": "waveform", "init": "content", "alpha": 1.0}, {"envelope": 1.0}),
}
for _name, (_st, _m) in POST.items():
    if _st is not None:
        OPTIMISERS[_name] = _st
# feature_style node configurations (pretrained CNN Grams, texture statistics): name -> its params.
FEATURE = {
    "pre_logmag": {},  # aiSFX Grams over blocks 1-4, content at block 4, alpha 1, log-magnitude, content phase
    "pre_logmag_a03": {"alpha": 0.3},
    "pre_logmag_a01": {"alpha": 0.1},
    "pre_wave": {"domain": "waveform"},
    "pre_random": {"weights": "random"},  # the same architecture untrained: does training matter?
    "pre_noise_start": {"init": "content_noise"},
    "texture": {"beta": 0.0, "alpha": 0.0, "texture_weight": 1.0},
    "pre_texture": {"texture_weight": 1.0},
    "pre_logmag+match": {},
    "pre_logmag+match_envelope": {},
}
FEATURE_POST = {"pre_logmag+match": {}, "pre_logmag+match_envelope": {"envelope": 1.0}}
# Spectral-envelope cross-synthesis (the morph node): alone, and as feature_style's start.
MORPH = {"morph05": {"amount": 0.5}, "morph07": {"amount": 0.7}}
FEATURE_PRE = {"morph05+pre_a03": {"amount": 0.5}, "morph05+pre_logmag": {"amount": 0.5}}
FEATURE.update({"morph05+pre_a03": {"alpha": 0.3}, "morph05+pre_logmag": {}})
for _name in MORPH:
    POST[_name] = (None, None)
# A styled output with another excerpt of the style laid under it (the layer node): name -> (the feature_style
# config it layers, the layer's amount). The layer is another excerpt, as under the mixes, so that no output
# holds the reference the distances are measured to.
LAYERED = {  # the presets' alphas with style blocks 1-4
    "subtle+layer06": ("pre_logmag", 0.06), "balanced+layer03": ("pre_logmag_a03", 0.03),
    "balanced+layer06": ("pre_logmag_a03", 0.06), "balanced+layer10": ("pre_logmag_a03", 0.10),
    "strong+layer06": ("pre_logmag_a01", 0.06)}
# The Gram over blocks 2-4 only (block 1, the finest texture, left out): what graphs/beyond_paper.yaml runs.
FEATURE.update({"pre_logmag_b234": {"style_blocks": [2, 3, 4]},
                "pre_logmag_a03_b234": {"alpha": 0.3, "style_blocks": [2, 3, 4]},
                "pre_logmag_a01_b234": {"alpha": 0.1, "style_blocks": [2, 3, 4]},
                "pre_logmag_a03_b34": {"alpha": 0.3, "style_blocks": [3, 4]},
                "pre_logmag_a03_b12": {"alpha": 0.3, "style_blocks": [1, 2]},
                "pre_logmag_a03_b234_c3": {"alpha": 0.3, "style_blocks": [2, 3, 4], "content_block": 3},
                "pre_logmag_a03_b234_c2": {"alpha": 0.3, "style_blocks": [2, 3, 4], "content_block": 2}})
LAYERED.update({"balanced_b234+layer06": ("pre_logmag_a03_b234", 0.06), "balanced_b34+layer06": ("pre_logmag_a03_b34", 0.06),
                "balanced_b12+layer06": ("pre_logmag_a03_b12", 0.06), "subtle_b234+layer06": ("pre_logmag_b234", 0.06),
                "strong_b234+layer06": ("pre_logmag_a01_b234", 0.06),
                "balanced_b234_c3+layer06": ("pre_logmag_a03_b234_c3", 0.06),
                "balanced_b234_c2+layer06": ("pre_logmag_a03_b234_c2", 0.06)})
FEATURE.update({name: FEATURE[base] for name, (base, _) in LAYERED.items()})
# Measured on the two open pairs (docs/quality.md, "Four more levers, aimed at the two open pairs"): the Gram per range of the mel axis
# (gram_bands), more style (alpha 0.1, 0.03, 80 iterations) under more layer, morph under the layer,
# morph as the start of the banded Gram, and a rhythm loss. Most also feed gl_refine (PHASES_FOR).
_B234 = {"style_blocks": [2, 3, 4]}
FEATURE.update({"pre_logmag_a03_b234_g2": {"alpha": 0.3, **_B234, "gram_bands": 2},
                "pre_logmag_a03_b234_g4": {"alpha": 0.3, **_B234, "gram_bands": 4},
                "pre_logmag_a03_b234_g8": {"alpha": 0.3, **_B234, "gram_bands": 8},
                "pre_logmag_a01_b234_g4": {"alpha": 0.1, **_B234, "gram_bands": 4},
                "pre_logmag_a03_g4": {"alpha": 0.3, "gram_bands": 4},
                "pre_logmag_a003_b234": {"alpha": 0.03, **_B234},
                "pre_logmag_a01_b234_80it": {"alpha": 0.1, **_B234, "iterations": 80}})
_MORE = {"balanced_b234_g2+layer06": ("pre_logmag_a03_b234_g2", 0.06),
         "balanced_b234_g4+layer06": ("pre_logmag_a03_b234_g4", 0.06),
         "balanced_b234_g4+layer10": ("pre_logmag_a03_b234_g4", 0.10),
         "balanced_b234_g4+layer15": ("pre_logmag_a03_b234_g4", 0.15),
         "balanced_b234_g8+layer06": ("pre_logmag_a03_b234_g8", 0.06),
         "strong_b234_g4+layer06": ("pre_logmag_a01_b234_g4", 0.06),
         "balanced_g4+layer06": ("pre_logmag_a03_g4", 0.06),
         "strong_b234+layer10": ("pre_logmag_a01_b234", 0.10),
         "strong_b234+layer15": ("pre_logmag_a01_b234", 0.15),
         "strong_b234_80it+layer10": ("pre_logmag_a01_b234_80it", 0.10),
         "alpha003_b234+layer10": ("pre_logmag_a003_b234", 0.10),
         "alpha003_b234+layer15": ("pre_logmag_a003_b234", 0.15)}
LAYERED.update(_MORE)
FEATURE.update({name: FEATURE[base] for name, (base, _) in _MORE.items()})
# The rhythm loss (the features' autocovariance over up to 2 s) beside the Gram.
for _weight, _bands in ((1, 1), (3, 1), (1, 4)):
    _tag = f"{'_g4' if _bands > 1 else ''}_r{_weight}"
    FEATURE[f"pre_logmag_a03_b234{_tag}"] = {"alpha": 0.3, **_B234, "gram_bands": _bands, "rhythm_weight": float(_weight)}
    LAYERED[f"balanced_b234{_tag}+layer06"] = (f"pre_logmag_a03_b234{_tag}", 0.06)
    FEATURE[f"balanced_b234{_tag}+layer06"] = FEATURE[f"pre_logmag_a03_b234{_tag}"]
for _amount in (0.3, 0.5):
    _m = f"morph{round(10 * _amount):02d}"
    for _layer in (0.06, 0.10):
        _name = f"{_m}+layer{round(100 * _layer):02d}"  # morph alone, then the layer
        MORPH[_name], POST[_name], LAYERED[_name] = {"amount": _amount}, (None, None), (_m, _layer)
    for _name, _bands, _layer in ((f"{_m}+balanced_b234_g4+layer06", 4, 0.06), (f"{_m}+balanced_b234+layer06", 1, 0.06),
                                  (f"{_m}+balanced_b234_g4+layer10", 4, 0.10)):
        FEATURE[_name] = {"alpha": 0.3, **_B234, "gram_bands": _bands}
        FEATURE_PRE[_name], LAYERED[_name] = {"amount": _amount}, (_name, _layer)
# Held content: feature_style from a light mix (the layer node, another excerpt of the style under the content),
# its content correlation held at the mix's (hold_content) and no content loss, so the Gram spends the rest;
# "holdc" measures the loss on the signal the output makes (domain: consistent), as does "_cons" for beyond_paper.
FEATURE["pre_logmag_a03_b234_cons"] = {"alpha": 0.3, **_B234, "domain": "consistent"}
LAYERED["balanced_b234_cons+layer06"] = ("pre_logmag_a03_b234_cons", 0.06)
FEATURE["balanced_b234_cons+layer06"] = FEATURE["pre_logmag_a03_b234_cons"]


def _held(name: str, params: dict, start: float, layers: tuple[float, ...] = (0.06,)) -> None:
    """A held-content configuration from a layer start, and the same with each of ``layers`` under its output."""
    FEATURE[name], FEATURE_PRE[name] = params, {"node": "layer", "amount": start}
    for amount in layers:
        layered = f"{name}+layer{round(100 * amount):02d}"
        LAYERED[layered], FEATURE[layered], FEATURE_PRE[layered] = (name, amount), params, FEATURE_PRE[name]


for _prefix, _domain in (("hold", "logmag"), ("holdc", "consistent")):
    for _start in (0.06, 0.10, 0.20):
        _held(f"{_prefix}_b234_s{round(100 * _start):02d}",
              {"alpha": 0.0, **_B234, "hold_content": True, "domain": _domain}, _start)
# On the open kinds: the held start with the rhythm loss, the banded Gram or the texture statistics beside it.
for _tag, _extra in (("_r1", {"rhythm_weight": 1.0}), ("_g4", {"gram_bands": 4}), ("_t01", {"texture_weight": 0.1}),
                     ("_t03", {"texture_weight": 0.3}), ("_t1", {"texture_weight": 1.0}),
                     ("_rand", {"weights": "random"}), ("_rb03", {"random_beta": 0.3}), ("_rb1", {"random_beta": 1.0}),
                     ("_rb3", {"random_beta": 3.0}), ("_rb1_r1", {"random_beta": 1.0, "rhythm_weight": 1.0})):
    _held(f"holdc_b234_s10{_tag}", {**FEATURE["holdc_b234_s10"], **_extra}, 0.10)
# What graphs/beyond_paper.yaml runs (random_beta 3) at its three starts, and with another seed's random weights.
for _start in (0.06, 0.20):
    _held(f"holdc_b234_s{round(100 * _start):02d}_rb3", FEATURE["holdc_b234_s10_rb3"], _start)
for _seed in (1, 2):  # other random weights for random_beta: how far a seed alone moves each margin and the count
    _held(f"holdc_b234_s10_rb3_seed{_seed}", {**FEATURE["holdc_b234_s10_rb3"], "seed": _seed}, 0.10)
_held("holdc_b234_s10_rb3", FEATURE["holdc_b234_s10_rb3"], 0.10, layers=(0.06, 0.10, 0.15))  # more of the style under it
# On the five pairs still short: a short-lag rhythm loss (lags up to 0.25 s: how bursty each texture is, not the
# beat's period that the 2 s one imposes) and a heavier random-weight Gram.
for _tag, _extra in (("_r1s025", {"rhythm_weight": 1.0, "rhythm_seconds": 0.25}),
                     ("_r03s025", {"rhythm_weight": 0.3, "rhythm_seconds": 0.25})):
    _held(f"holdc_b234_s10_rb3{_tag}", {**FEATURE["holdc_b234_s10_rb3"], **_extra}, 0.10)
_held("holdc_b234_s10_rb10", {**FEATURE["holdc_b234_s10_rb3"], "random_beta": 10.0}, 0.10)
# The default with its networks' convolutions in bf16 (feature_style precision), to be compared with fp32 on one machine.
_held("holdc_b234_s10_rb3_bf16", {**FEATURE["holdc_b234_s10_rb3"], "precision": "bf16"}, 0.10)
# The onset rhythm loss (one onset envelope's autocorrelation, not every feature's): the rhythm measure is the one
# objective measure beyond_paper leaves above the mix curve on 14 of the 15 pairs.
for _weight in (1, 3):
    _held(f"holdc_b234_s10_rb3_bf16_o{_weight}", {**FEATURE["holdc_b234_s10_rb3_bf16"], "onset_weight": float(_weight)}, 0.10)


def _matched(base: str, tag: str, strength: float, extra: dict) -> None:
    """The held configuration ``base`` (10 % start), then the match node by ``strength``, then the 6 % layer."""
    name = f"{base}+{tag}{round(10 * strength):02d}+layer06"
    _held(name, FEATURE[base], 0.10, layers=())
    FEATURE_POST[name] = {"strength": strength, "dynamics": 0.0, "loudness": 0.0, **extra}
    LAYERED[name] = (name, 0.06)


# The match node's long-term spectrum (a share of it) after beyond_paper's styled output, under its layer; "pmatch"
# scales that share by the style's percussive share (by_percussive: drum styles only), as beyond_paper's colour.
for _tag, _strengths, _extra in (("match", (0.3, 0.6), {}), ("pmatch", (0.3, 0.5), {"by_percussive": True})):
    for _strength in _strengths:
        _matched("holdc_b234_s10_rb3", _tag, _strength, _extra)
# The frame statistics (mean and covariance of the frame vectors) beside beyond_paper's two Grams.
for _weight in (0.3, 1, 3):
    _held(f"holdc_b234_s10_rb3_f{str(_weight).replace('.', '')}", {**FEATURE["holdc_b234_s10_rb3"], "frame_weight": float(_weight)}, 0.10)
# Fewer L-BFGS iterations than the bench's 40: at 80 the loss ends lower and guitar+trumpet2's tagger margin is
# worse (−0.04 against −0.09), so the tagger may follow the loss only part of the way.
for _iterations in (20, 30):
    _held(f"holdc_b234_s10_rb3_it{_iterations}", {**FEATURE["holdc_b234_s10_rb3"], "iterations": _iterations}, 0.10)
_matched("holdc_b234_s10_rb3_it20", "pmatch", 0.5, {"by_percussive": True})  # with beyond_paper's colour 0.5
# The Grams of the deeper blocks only (3 and 4, both networks): block 2's are the most local texture, where the
# optimiser sharpened partials and filled the bass (harp+trumpet3, perc2+violin2) without moving the tagger.
_held("holdc_b34_s10_rb3", {**FEATURE["holdc_b234_s10_rb3"], "style_blocks": [3, 4]}, 0.10)
_held("holdc_b4_s10_rb3", {**FEATURE["holdc_b234_s10_rb3"], "style_blocks": [4]}, 0.10)  # the deepest alone
# The content floor over mel bands: over linear bins a change below 250 Hz is cheap for it (where the Grams filled
# the bass).
_held("holdc_b234_s10_rb3_hmel", {**FEATURE["holdc_b234_s10_rb3"], "hold_scale": "mel"}, 0.10)
# Each network its own blocks: the deeper blocks gained on the tonal styles and lost on the drum loops, whose texture
# block 2 carries; the random weights follow that texture more literally than the trained ones.
_held("holdc_b34_r234_s10_rb3", {**FEATURE["holdc_b234_s10_rb3"], "style_blocks": [3, 4], "random_blocks": [2, 3, 4]}, 0.10)
_held("holdc_b234_r34_s10_rb3", {**FEATURE["holdc_b234_s10_rb3"], "random_blocks": [3, 4]}, 0.10)
# A start heavier in the style than the floor: the 20 or 35 % layer as the start, the 10 % layer's content correlation
# as the floor (feature_style's floor input), so the optimiser must win the content back while the Grams hold the style.
for _start in (0.20, 0.35):
    _name = f"holdc_b234_s{round(100 * _start):02d}f10_rb3"
    _held(_name, FEATURE["holdc_b234_s10_rb3"], _start)
    for _n in (_name, f"{_name}+layer06"):
        FEATURE_PRE[_n] = {**FEATURE_PRE[_n], "floor": 0.10}
# The content itself as the start, the 10 % layer's content correlation as the floor: no note of the style is laid in
# at the start (on oboe+trumpet4 the optimiser sustained the start's 10 % of trumpet notes under the oboe's, a chord
# the tagger heard as a synth).
_held("holdc_b234_s00f10_rb3_bf16", FEATURE["holdc_b234_s10_rb3_bf16"], 0.0)
for _n in ("holdc_b234_s00f10_rb3_bf16", "holdc_b234_s00f10_rb3_bf16+layer06"):
    FEATURE_PRE[_n] = {**FEATURE_PRE[_n], "floor": 0.10}
# The change from the start smoothed over 5, 9 or 15 frames in time (feature_style smooth_frames): on oboe+trumpet4
# the tagger heard the default's output as further from the trumpet than the oboe alone (tags electronic, synth),
# and the same output with its change smoothed over 9 frames afterwards moved back by 0.19.
for _frames in (5, 9, 15):
    _held(f"holdc_b234_s10_rb3_bf16_t{_frames}", {**FEATURE["holdc_b234_s10_rb3_bf16"], "smooth_frames": _frames}, 0.10)
# ...and with the onset loss beside it (the graph's onset_rhythm 1): the smoothing gained on the tonal styles, the
# onset loss had on the development pairs' drum styles.
_held("holdc_b234_s10_rb3_bf16_t9_o1", {**FEATURE["holdc_b234_s10_rb3_bf16_t9"], "onset_weight": 1.0}, 0.10)
# The same 9 frames trailing each frame instead of centred on it (smooth_shape): the centred window fades a change
# in 4 frames (46 ms) before the frame it was put at, a smear before every hit that cost the drum styles (tabla+breakbeat
# −0.10 → −0.03); a trailing one starts a change where it was put and lets it die away.
_held("holdc_b234_s10_rb3_bf16_t9tr", {**FEATURE["holdc_b234_s10_rb3_bf16_t9"], "smooth_shape": "trailing"}, 0.10)
# A third of the onset weight (1 above): at 1 it met the goal on 26 of 40 pair-checks against 16, but the hand-made-feature judge and
# the five measures other than rhythm (the statistic it optimises) were worse by about 0.008.
_held("holdc_b234_s10_rb3_bf16_t9_o03", {**FEATURE["holdc_b234_s10_rb3_bf16_t9"], "onset_weight": 0.3}, 0.10)
# That default (beyond_paper since) at the graph's other two starts, the presets subtle and strong.
for _start in (0.06, 0.20):
    _held(f"holdc_b234_s{round(100 * _start):02d}_rb3_bf16_t9_o03", FEATURE["holdc_b234_s10_rb3_bf16_t9_o03"], _start)
# The mix frontier: content + style at equal RMS, this fraction of style (see frontier()).
# Dense near the content (settings.py): a straight line from the content to the 20 % mix overstated
# margins there by up to 0.34 on the real set.
MIX_FRACTIONS = settings.QUALITY_MIX_FRACTIONS
# Placebos: plain mixes whose style layer is placed elsewhere (the frontier's layer shifted in time, other
# excerpts of the style). Scored like outputs against the frontier, which uses one placement, their margins
# are what layering alone scores by the luck of where the style falls: the noise a margin is read against.
PLACEBO_FRACTIONS = settings.QUALITY_PLACEBO_FRACTIONS
PLACEBO_SHIFTS = settings.QUALITY_PLACEBO_SHIFTS  # of the layer's length
PLACEBO_EXCERPTS = 2  # other excerpts, where the recording has them
PLACEBO_PREFIX = "placebo"
# The default run (about 25 min on this shared 2-core machine): the paper, each option alone, the winner.
CORE_CONFIGS = ("paper", "bounded_lbfgsb", "bounded_lbfgs", "autocorr", "widths", "waveform", "waveform_content",
                "combined_wave", "wave_alpha1")
# Phase reconstructions: name -> (istft params, initialise from the content's phase). The first is the default.
PHASES = {
    "gl": ({}, False),
    "gl_content_phase": ({}, True),
    "gl_x3": ({"griffin_lim_iterations": "3x"}, False),
    "gl_content_phase_x3": ({"griffin_lim_iterations": "3x"}, True),
    # For outputs that carry the content's phase (feature_style): Griffin-Lim started from it, so that
    # partials the optimiser added where the content had none get a phase consistent across frames.
    "gl_refine": ({"phase": "griffin_lim"}, True),
    "gl_resynth": ({"phase": "griffin_lim"}, False),  # the same from a random phase: the content's phase dropped
}
# Which phase variants each optimiser run feeds (waveform outputs carry their own phase, Griffin-Lim is skipped).
PHASES_FOR = {"logmag_antognini": ("gl_content_phase",), "paper": ("gl", "gl_content_phase"), "bounded_lbfgs": ("gl", "gl_content_phase"),
              "content_init": ("gl", "gl_content_phase"), "combined": ("gl", "gl_content_phase")}
PHASES_FOR.update({name: ("gl", "gl_refine") for name in ("pre_logmag_a03_b234", "balanced_b234+layer06",
                                                          "strong_b234+layer06", *_MORE)})
PHASES_FOR["strong_b234+layer10"] = ("gl", "gl_refine", "gl_resynth")
DEFAULT_PHASES = ("gl",)
FEATURE_PHASES = ("gl", "gl_refine", "gl_resynth")


def graph_yaml(content: Path, style: Path, out_dir: Path, st_params: dict | None, phases: tuple[str, ...],
               gl_iterations: int, match: dict | None = None, morph: dict | None = None,
               layer: tuple[float, Path] | None = None, variants: list | None = None,
               layer_file: Path | None = None) -> str:
    """The run's graph. morph: a morph node of the content towards the style, alone (st_params None) or as
    the start of feature_style (with "node": "layer", a layer of ``layer_file`` under the content instead); match: a match node after the output, or alone; layer: (amount, the file laid
    under the styled output by a layer node, last). variants: [(out_dir, match, layer), ...] of configurations
    that share this one optimisation, each with its own match/layer branch and WAVs (shared_runs); by default
    the one (out_dir, match, layer)."""
    variants = list(variants) if variants else [(out_dir, match, layer)]
    layer_files = {v[2][1] for v in variants if v[2] is not None}
    start_kind = (morph or {}).get("node", "morph")
    if start_kind == "layer":
        layer_files.add(layer_file)
    if len(layer_files) > 1:
        raise ValueError("the variants of one run must lay the same file under their outputs")
    lines = [
        "description: quality benchmark run", "nodes:",
        f"  c_in: {{type: load, path: '{content}'}}",
        f"  s_in: {{type: load, path: '{style}'}}",
    ]
    if layer_files:
        lines += [f"  l_in: {{type: load, path: '{layer_files.pop()}'}}"]

    def args(params):
        return "".join(f", {k}: {json.dumps(v)}" for k, v in (params or {}).items())

    if morph is not None:  # the start: a morph towards the style, or the layer (another excerpt) under the content
        reference = "l_in" if start_kind == "layer" else "s_in"
        params = {k: v for k, v in morph.items() if k not in ("node", "floor")}
        lines += [f"  pre: {{type: {start_kind}, inputs: {{audio: c_in, reference: {reference}}}{args(params)}}}"]
        if "floor" in morph:  # a lighter layer whose content correlation the floor holds (feature_style's floor)
            lines += [f"  flo: {{type: layer, inputs: {{audio: c_in, reference: {reference}}}, amount: {morph['floor']}}}"]
    if st_params is None:  # DSP only: the content morphed and/or matched to the style (nothing to share)
        out_dir, match, layer = variants[0]
        last = "pre" if morph is not None else "c_in"
        if match is not None or morph is None:
            lines += [f"  m: {{type: match, inputs: {{audio: {last}, reference: s_in}}{args(match)}}}"]
            last = "m"
        if layer is not None:
            lines += [f"  l: {{type: layer, inputs: {{audio: {last}, reference: l_in}}, amount: {layer[0]}}}"]
            last = "l"
        lines += [f"  w_gl: {{type: write, inputs: {{audio: {last}}}, path: '{out_dir / 'gl.wav'}', bit_depth: 32, "
                  "clip: clip}"]
        return "\n".join(lines) + "\n"
    start = ""
    if morph is not None:
        lines += ["  pre_spec: {type: stft, inputs: {audio: pre}}"]
        start = ", start: pre_spec"
        if "floor" in morph:
            lines += ["  flo_spec: {type: stft, inputs: {audio: flo}}"]
            start += ", floor: flo_spec"
    lines += [
        "  c_spec: {type: stft, inputs: {audio: c_in}}",
        "  s_spec: {type: stft, inputs: {audio: s_in}}",
        "  styled:", f"    type: {st_params.pop('node', 'style_transfer')}", f"    inputs: {{content: c_spec, style: s_spec{start}}}",
    ]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in st_params.items()]
    for phase in phases:
        params, from_content = PHASES[phase]
        inputs = "{spectrogram: styled, phase_from: c_spec}" if from_content else "{spectrogram: styled}"
        iters = gl_iterations * 3 if params.get("griffin_lim_iterations") == "3x" else gl_iterations
        mode = f", phase: {params['phase']}" if "phase" in params else ""
        lines += [f"  i_{phase}: {{type: istft, inputs: {inputs}, griffin_lim_iterations: {iters}{mode}}}"]
        for k, (v_dir, v_match, v_layer) in enumerate(variants):
            tag = str(k) if k else ""  # the first variant keeps the plain names
            last = f"i_{phase}"
            if v_match is not None:
                lines += [f"  m{tag}_{phase}: {{type: match, inputs: {{audio: i_{phase}, reference: s_in}}"
                          f"{args(v_match)}}}"]
                last = f"m{tag}_{phase}"
            if v_layer is not None:
                lines += [f"  l{tag}_{phase}: {{type: layer, inputs: {{audio: {last}, reference: l_in}}, "
                          f"amount: {v_layer[0]}}}"]
                last = f"l{tag}_{phase}"
            lines += [f"  w{tag}_{phase}: {{type: write, inputs: {{audio: {last}}}, "
                      f"path: '{v_dir / (phase + '.wav')}', bit_depth: 32, clip: clip}}"]
    return "\n".join(lines) + "\n"


def read(path: Path) -> np.ndarray:
    from scipy.io import wavfile

    sr, x = wavfile.read(str(path))
    assert sr == SR, (path, sr)
    return x.astype(np.float64) if x.ndim == 1 else x.mean(axis=1).astype(np.float64)


def measure(x, content, style, tagger=None, features=None) -> dict:
    row = quality.evaluate(x, content, style, SR)
    if tagger is not None:
        row["tagger_frechet"] = tagger.distance(x, style)
    if features is not None:
        row["feature_frechet"] = features.distance(x)
    return row


def source(name: str):
    """The module that makes the clips: bench/signals.py (generated) or bench/devset.py (real recordings)."""
    if name == "devset":
        import devset

        return devset
    return signals


def clips_of(clips, pair: tuple[str, str], content_seconds: float, style_seconds: float, excerpt: int = 0):
    """(content, style reference, another excerpt of the style) of one pair. ``excerpt`` picks which excerpts
    (0: the first of each recording; 1, 2: later ones, to check that a choice made on 0 holds elsewhere); the
    other excerpt of the style is always the next one, so it never is the reference."""
    c_name, s_name = pair
    return (clips.make(c_name, content_seconds, seed=excerpt), clips.make(s_name, style_seconds, seed=excerpt),
            clips.make(s_name, content_seconds, seed=other_seed(clips, s_name, content_seconds, style_seconds, excerpt)))


def excerpts_clear_of_reference(clips, s_name: str, content_seconds: float, style_seconds: float, excerpt: int,
                                after: int | None = None):
    """(seed, start frame) of each content-length excerpt after seed ``after`` (default: the reference's own,
    ``excerpt``) that shares no frame with the reference (cut from one recording, as the devset cuts them)."""
    frames = clips.clip_frames(s_name)
    ref = clips.excerpt_range(frames, style_seconds, excerpt)
    after = excerpt if after is None else after
    for seed in range(after + 1, after + 64):
        start, stop = clips.excerpt_range(frames, content_seconds, seed)
        if stop <= ref[0] or start >= ref[1]:
            yield seed, start


def other_seed(clips, s_name: str, content_seconds: float, style_seconds: float, excerpt: int) -> int:
    """The seed of the other excerpt of the style: the next one, or, where excerpts are cut from one recording
    (the devset) and the reference is longer than the content, the first one that shares no frame with the
    reference, so that the mixes never hold part of it."""
    if not hasattr(clips, "excerpt_range"):  # generated clips: a seed is another realisation, not an offset
        return excerpt + 1
    for seed, _ in excerpts_clear_of_reference(clips, s_name, content_seconds, style_seconds, excerpt):
        return seed
    raise SystemExit(f"{s_name}: no {content_seconds:g} s excerpt shares no frame with the {style_seconds:g} s "
                     "reference; shorten --style-seconds or --content-seconds")


def mix(content: np.ndarray, style_excerpt: np.ndarray, fraction: float) -> np.ndarray:
    """Plain layering, the baseline to beat: (1 − f)·content + f·style, both at equal RMS first."""
    n = content.size
    s = np.pad(style_excerpt, (0, max(0, n - style_excerpt.size)))[:n]
    return (1 - fraction) * quality.equal_rms(content) + fraction * quality.equal_rms(s)


def placebo_layers(clips, pair: tuple[str, str], content_seconds: float, style_seconds: float, excerpt: int,
                   other: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(label, style layer) of each placebo placement: the frontier's layer ``other`` shifted circularly by
    PLACEBO_SHIFTS of its length, then up to PLACEBO_EXCERPTS other excerpts of the style that share no frame
    with the reference and start at least a second away from every layer already taken."""
    layers = [(f"shift{round(100 * s)}", np.roll(other, int(round(s * other.size)))) for s in PLACEBO_SHIFTS]
    s_name = pair[1]
    first = other_seed(clips, s_name, content_seconds, style_seconds, excerpt)
    if not hasattr(clips, "excerpt_range"):  # generated clips: another seed is another realisation
        return layers + [(f"excerpt{seed}", clips.make(s_name, content_seconds, seed=seed))
                         for seed in range(first + 1, first + 1 + PLACEBO_EXCERPTS)]
    starts = [clips.excerpt_range(clips.clip_frames(s_name), content_seconds, first)[0]]
    for seed, start in excerpts_clear_of_reference(clips, s_name, content_seconds, style_seconds, excerpt, after=first):
        if len(layers) == len(PLACEBO_SHIFTS) + PLACEBO_EXCERPTS:
            break
        if all(abs(start - t) >= SR for t in starts):
            starts.append(start)
            layers.append((f"excerpt{seed}", clips.make(s_name, content_seconds, seed=seed)))
    return layers


def placebo_mixes(clips, pair, content_seconds, style_seconds, excerpt, content, other):
    """(row name, signal) of every placebo: each PLACEBO_FRACTIONS mix with each placebo layer."""
    layers = placebo_layers(clips, pair, content_seconds, style_seconds, excerpt, other)
    return [(f"{PLACEBO_PREFIX}{round(100 * f)}@{label}", mix(content, layer, f))
            for f in PLACEBO_FRACTIONS for label, layer in layers]


def reference_mixes(clips, pair, content_seconds, style_seconds, excerpt, content, other):
    """(row name, signal) of the frontier's mixes, then of the placebos."""
    return ([(f"mix{round(100 * f)}", mix(content, other, f)) for f in MIX_FRACTIONS]
            + placebo_mixes(clips, pair, content_seconds, style_seconds, excerpt, content, other))


def plan(opt_name: str, shared: dict, phases: tuple[str, ...]):
    """(style node params or None, match params, morph params, phases, layer amount or None) of one
    configuration."""
    st_params, match = POST.get(opt_name, (OPTIMISERS.get(opt_name), None))
    run_params = None if st_params is None else {**shared, **st_params}
    if opt_name in FEATURE:  # the feature_style node: no random filters; its output carries a phase
        run_params = {"node": "feature_style", "iterations": shared["iterations"], **FEATURE[opt_name]}
        match = FEATURE_POST.get(opt_name)
    if run_params is None:
        phases = ("gl",)
    elif opt_name in FEATURE:  # its output carries the content's phase: Griffin-Lim only where asked for
        phases = tuple(p for p in phases if p in FEATURE_PHASES) or ("gl",)
    layer = LAYERED[opt_name][1] if opt_name in LAYERED else None
    return run_params, match, MORPH.get(opt_name, FEATURE_PRE.get(opt_name)), phases, layer


def shared_runs(plans: list[tuple]) -> list[list[tuple]]:
    """The plans (name, *plan()) grouped into runs: configurations whose optimisation is the same (style node
    params, morph start, phase variants) and that differ only after it (their match or layer) share one
    run, as phase variants already do; the optimisation is deterministic, so each output is what a run of
    its own gives. DSP-only configurations are cheap and run alone."""
    runs: dict[str, list[tuple]] = {}
    for p in plans:
        name, run_params, _, morph, phases, _ = p
        key = f"dsp:{name}" if run_params is None else json.dumps([run_params, morph, phases], sort_keys=True)
        runs.setdefault(key, []).append(p)
    return list(runs.values())


def run_pair(pair: tuple[str, str], args, work: Path, tagger) -> list[dict]:
    from audiostyle_engine.run import run_graph

    c_name, s_name = pair
    pair_dir = work / f"{c_name}+{s_name}"
    clips = source(args.source)
    # Another excerpt of the style: the layer under the mixes (the reference itself would sit in them
    # verbatim) and the "style*" row.
    content, style, other = clips_of(clips, pair, args.content_seconds, args.style_seconds, args.excerpt)
    features = None
    if not args.no_features:
        from feature_distance import FeatureDistance

        features = FeatureDistance(content, style, SR)
    c_path = signals.write_wav(pair_dir / "content.wav", content)
    s_path = signals.write_wav(pair_dir / "style.wav", style)
    l_path = signals.write_wav(pair_dir / "layer.wav", other)  # what layered configs lay under their output
    rows = []

    def add(name, x, **extra):
        row = {"pair": f"{c_name}+{s_name}", "config": name, **measure(x, content, style, tagger, features), **extra}
        rows.append(row)
        return row

    ref = add("content", content, spectral_convergence=quality.griffin_lim_convergence(content, args.gl_iterations),
              negative_bins_fraction=0.0)
    for name, x in reference_mixes(clips, pair, args.content_seconds, args.style_seconds, args.excerpt, content, other):
        add(name, x)
    add("style*", other,
        spectral_convergence=quality.griffin_lim_convergence(style, args.gl_iterations), negative_bins_fraction=0.0)
    shared = {"n_filters": args.n_filters, "iterations": args.iterations}
    plans = [(name, *plan(name, shared, PHASES_FOR.get(name, DEFAULT_PHASES) if not args.all_phases else tuple(PHASES)))
             for name in args.configs]
    for members in shared_runs(plans):
        variants = []
        for opt_name, _, match, _, _, layer in members:
            (pair_dir / opt_name).mkdir(parents=True, exist_ok=True)
            variants.append((pair_dir / opt_name, match, None if layer is None else (layer, l_path)))
        _, run_params, _, morph, phases, _ = members[0]
        graph = variants[0][0] / "graph.yaml"  # the first config's folder holds the shared graph
        graph.write_text(graph_yaml(c_path, s_path, variants[0][0], run_params, phases, args.gl_iterations,
                                    variants=variants, morph=morph, layer_file=l_path))
        t0 = time.perf_counter()
        result = run_graph(graph, seed=0, device="cpu")
        seconds = time.perf_counter() - t0  # the shared run's, on every row it feeds
        st = result.records.get("styled", {})
        history = st.get("history", {"loss": [float("nan")], "evaluations": 0})
        for (opt_name, *_), (out_dir, _, _) in zip(members, variants):
            for phase in phases:
                istft = result.records.get(f"i_{phase}", {})
                row = add(f"{opt_name}/{phase}", read(out_dir / f"{phase}.wav"),
                          spectral_convergence=istft.get("spectral_convergence", float("nan")),
                          negative_bins_fraction=st.get("negative_bins_fraction", 0.0),
                          final_loss=history["loss"][-1], evaluations=history["evaluations"], seconds=seconds)
                row["position"] = float(np.mean(list(quality.positions(row, ref).values())))
            print(f"  {c_name}+{s_name} {opt_name}: {seconds:.0f} s, loss {history['loss'][-1]:.4g}"
                  + (f" (run shared with {members[0][0]})" if opt_name != members[0][0] else ""), flush=True)
    for row in rows:
        row.setdefault("position", float(np.mean(list(quality.positions(row, ref).values()))))
    return rows


FRONTIER_MEASURES = {"tagger_ratio": "tagger_margin", "position": "objective_margin", "feature_ratio": "feature_margin",
                     "position_nongram": "nongram_margin"}
# The objective measures other than the three random-conv Grams. feature_style's random_beta is a Gram of
# random convs over a log-mel as well (another network, the same family), so its gains on those three are
# read beside this: the position over the measures that share nothing with it.
NON_GRAM_MEASURES = ("mel_covariance", "spectral_envelope", "rhythm")


def on_frontier(config: str) -> bool:
    """Whether a row is a point of its pair's mix curve: the content, a mix, or the style excerpt."""
    return config in ("content", "style*") or config.startswith("mix")


def frontier(rows: list[dict], pair: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """The mix curve of one pair: (content correlation, measure) of content, each mix and the style excerpt,
    sorted by content correlation."""
    refs = [r for r in rows if r["pair"] == pair and measure in r and on_frontier(r["config"])]
    refs.sort(key=lambda r: r["content_correlation"])
    return (np.array([r["content_correlation"] for r in refs]), np.array([r[measure] for r in refs]))


def add_frontier(rows: list[dict]) -> None:
    """Each row's margins to its pair's mix frontier at its own content correlation: measure(output) −
    measure(mix frontier), linearly interpolated. Negative = closer to the style than plain layering."""
    for r in rows:
        ref = next(x for x in rows if x["pair"] == r["pair"] and x["config"] == "content")
        if "feature_frechet" in r and ref.get("feature_frechet", 0) > 0:
            r["feature_ratio"] = r["feature_frechet"] / ref["feature_frechet"]
        if all(k in r and ref.get(k, 0) > 0 for k in NON_GRAM_MEASURES):
            r["position_nongram"] = float(np.mean([r[k] / ref[k] for k in NON_GRAM_MEASURES]))
    for r in rows:
        for measure, margin in FRONTIER_MEASURES.items():
            if measure in r:
                xs, ys = frontier(rows, r["pair"], measure)
                if xs.size >= 2:
                    r[margin] = float(r[measure] - np.interp(r["content_correlation"], xs, ys))
    add_measure_margins(rows)


def add_measure_margins(rows: list[dict]) -> None:
    """Each objective measure's own margin (``margin_<measure>``): its position against the mix curve of that
    measure alone. The objective margin is their mean, so this says which measure holds a pair back."""
    by_pair: dict[str, list[dict]] = {}
    for r in rows:
        by_pair.setdefault(r["pair"], []).append(r)
    for pair_rows in by_pair.values():
        ref = next((x for x in pair_rows if x["config"] == "content"), None)
        if ref is None:
            continue
        # each row's position on each measure, as rows frontier() can read
        positioned = [dict(quality.positions(r, ref), pair=r["pair"], config=r["config"],
                           content_correlation=r["content_correlation"]) for r in pair_rows]
        for m in quality.STYLE_MEASURES:
            xs, ys = frontier(positioned, pair_rows[0]["pair"], m)
            if xs.size < 2:
                continue
            for r, pos in zip(pair_rows, positioned):
                if m in pos:
                    r[f"margin_{m}"] = float(pos[m] - np.interp(r["content_correlation"], xs, ys))


def is_placebo(config: str) -> bool:
    return config.startswith(PLACEBO_PREFIX)


def placebo_spread(rows: list[dict]) -> dict[str, dict]:
    """Per frontier margin, over every placebo row of every pair: n, mean, sd, min and max. A configuration's
    margin inside this range is what a plain mix placed elsewhere could have scored."""
    spread = {}
    for margin in FRONTIER_MEASURES.values():
        values = np.array([r[margin] for r in rows if is_placebo(r["config"]) and margin in r])
        if values.size:
            spread[margin] = {"n": int(values.size), "mean": float(values.mean()), "sd": float(values.std()),
                              "min": float(values.min()), "max": float(values.max())}
    return spread


def placebo_floors(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per pair, the lowest tagger and objective margins any placebo of it reached. An output below both on a
    pair beats layering there by more than placing the style elsewhere could (summary: pairs_beyond_placebos)."""
    floors: dict[str, dict[str, float]] = {}
    for r in rows:
        if is_placebo(r["config"]):
            for m in ("tagger_margin", "objective_margin"):
                if m in r:
                    floors.setdefault(r["pair"], {})[m] = min(floors.get(r["pair"], {}).get(m, np.inf), r[m])
    return floors


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per config: means over pairs, and the mean distance ratio to the paper default per measure. Placebos are
    left out: placebo_spread() sums them up."""
    configs = list(dict.fromkeys(r["config"] for r in rows if not is_placebo(r["config"])))
    pairs = list(dict.fromkeys(r["pair"] for r in rows))
    by = {(r["pair"], r["config"]): r for r in rows}
    base = "paper/gl"
    floors = placebo_floors(rows)  # one pass over the rows, not one per configuration
    summary = {}
    for cfg in configs:
        have = [p for p in pairs if (p, cfg) in by]
        s = {k: float(np.mean([by[(p, cfg)][k] for p in have]))
             for k in ("content_correlation", "position", "spectral_convergence", "negative_bins_fraction",
                       "tagger_frechet", "tagger_ratio", "feature_ratio", *FRONTIER_MEASURES.values(),
                       *quality.STYLE_MEASURES) if all(k in by[(p, cfg)] for p in have)}
        for margin in FRONTIER_MEASURES.values():  # the goal is every pair: the worst one counts
            if all(margin in by[(p, cfg)] for p in have):
                s[f"worst_{margin}"] = float(np.max([by[(p, cfg)][margin] for p in have]))
        if floors and all(p in floors for p in have):
            s["pairs_beyond_placebos"] = sum(all(m in by[(p, cfg)] and by[(p, cfg)][m] < floors[p][m] for m in floors[p])
                                             for p in have)
        for m in quality.STYLE_MEASURES:  # which measure holds the pairs back: mean margin, pairs above the curve
            if have and all(f"margin_{m}" in by[(p, cfg)] for p in have):
                values = [by[(p, cfg)][f"margin_{m}"] for p in have]
                s[f"margin_{m}"] = float(np.mean(values))
                s[f"above_{m}"] = int(sum(v > 0 for v in values))
        if all("seconds" in by[(p, cfg)] for p in have):
            s["seconds"] = float(np.mean([by[(p, cfg)]["seconds"] for p in have]))
        if all((p, base) in by for p in have):
            ratios = [by[(p, cfg)][m] / by[(p, base)][m] for p in have for m in quality.STYLE_MEASURES
                      if by[(p, base)][m] > 0]
            s["vs_paper"] = float(np.mean(ratios) - 1)
            drum = [p for p in have if p.endswith("+drums")]
            if drum:
                s["rhythm_vs_paper_drums"] = float(np.mean([by[(p, cfg)]["rhythm"] / by[(p, base)]["rhythm"]
                                                            for p in drum]) - 1)
        summary[cfg] = s
    return summary


def print_table(rows: list[dict], summary: dict, tagger: bool) -> None:
    cols = ["content_correlation", *quality.STYLE_MEASURES, "position", "spectral_convergence", "negative_bins_fraction"]
    short = {"content_correlation": "corr", "mel_covariance": "melcov", "spectral_envelope": "env_dB",
             "rhythm": "rhythm", "position": "pos", "spectral_convergence": "gl_sc", "negative_bins_fraction": "neg",
             "tagger_ratio": "tagger", "feature_ratio": "feat", "tagger_margin": "tag-fr", "objective_margin": "pos-fr",
             "feature_margin": "feat-fr", "worst_tagger_margin": "w.tag-fr", "worst_objective_margin": "w.pos-fr",
             "worst_feature_margin": "w.feat-fr", "nongram_margin": "ng-fr", "worst_nongram_margin": "w.ng-fr",
             "position_nongram": "pos_ng", "seconds": "s", "pairs_beyond_placebos": "<placebo"}
    if tagger:
        cols.insert(-3, "tagger_ratio")
    if any("feature_ratio" in r for r in rows):
        cols.insert(-3, "feature_ratio")
    # The headline: margins to the mix frontier (negative = beats plain layering at that content correlation).
    cols += [m for m in FRONTIER_MEASURES.values() if any(m in r for r in rows)]
    head = f"{'pair':15s} {'config':30s} " + " ".join(f"{short.get(c, c):>8s}" for c in cols)
    print(head)
    for r in rows:
        print(f"{r['pair']:15s} {r['config']:30s} " +
              " ".join(f"{r.get(c, float('nan')):8.3g}" if not c == "mel_covariance" else f"{r.get(c, float('nan')):8.0f}"
                       for c in cols))
    print("\nmeans over pairs")
    extra = ["vs_paper", "rhythm_vs_paper_drums", "seconds"] + [f"worst_{m}" for m in FRONTIER_MEASURES.values()
                                                                if any(f"worst_{m}" in v for v in summary.values())]
    if any("pairs_beyond_placebos" in v for v in summary.values()):
        extra.append("pairs_beyond_placebos")  # pairs where both margins are below every placebo's
    print(f"{'config':30s} " + " ".join(f"{short.get(c, c):>8s}" for c in cols + extra))
    for cfg, s in summary.items():
        print(f"{cfg:30s} " + " ".join(f"{s.get(c, float('nan')):8.3g}" if c != "mel_covariance"
                                       else f"{s.get(c, float('nan')):8.0f}" for c in cols + extra))
    measures = [m for m in quality.STYLE_MEASURES if any(f"margin_{m}" in v for v in summary.values())]
    if measures:
        print("\neach objective measure's margin to its own mix curve: mean over pairs (pairs above the curve)")
        print(f"{'config':30s} " + " ".join(f"{short.get(m, m):>14s}" for m in measures))
        for cfg, s in summary.items():
            if on_frontier(cfg) or not all(f"margin_{m}" in s for m in measures):
                continue
            print(f"{cfg:30s} " + " ".join(f"{s[f'margin_{m}']:+9.3f} ({s[f'above_{m}']:2d})" for m in measures))
    spread = placebo_spread(rows)
    if spread:
        print("\nplain mixes with the style placed elsewhere (placebos, "
              f"{', '.join(f'{round(100 * f)}' for f in PLACEBO_FRACTIONS)} % style): their margins are noise")
        for margin, v in spread.items():
            print(f"  {short[margin]:8s} n {v['n']:3d}  mean {v['mean']:+.3f}  sd {v['sd']:.3f}  "
                  f"range {v['min']:+.3f} .. {v['max']:+.3f}")


def add_tagger_ratios(rows: list[dict], tagger) -> None:
    """tagger Fréchet(output, style) / Fréchet(content, style): 1 = as far as the content, 0 = like the style."""
    if tagger is None:
        return
    for r in rows:
        ref = next(x for x in rows if x["pair"] == r["pair"] and x["config"] == "content")
        r["tagger_ratio"] = r["tagger_frechet"] / ref["tagger_frechet"]


def clip_settings(report: dict) -> tuple:
    """(source, content seconds, style seconds, excerpt) of a report's clips; a merge must share them."""
    entries = report["settings"] if isinstance(report["settings"], list) else [report["settings"]]
    keys = {(st.get("source", "generated"), st["content_seconds"], st["style_seconds"], st.get("excerpt", 0))
            for st in entries}
    if len(keys) != 1:
        raise SystemExit(f"a report merges runs on different clips {sorted(keys)}: re-score the runs' own reports")
    return keys.pop()


def add_missing_references(reports: list[dict], load_tagger) -> int:
    """Add the frontier mixes and placebos that stored reports lack (made before the frontier was sampled as
    densely, or before placebos), measured from the clips alone, to the first report holding each pair; the new
    rows carry a tagger (hand-made-feature) distance where the report's rows do. Returns the rows added."""
    have = {(r["pair"], r["config"]) for report in reports for r in report["rows"]}
    added = 0
    for report in reports:
        rows = report["rows"]
        if not any(r["config"] == "content" for r in rows):
            continue
        src, c_sec, s_sec, excerpt = clip_settings(report)
        clips = source(src)
        with_tagger = any("tagger_frechet" in r for r in rows)
        with_features = any("feature_frechet" in r for r in rows)
        for pair in dict.fromkeys(r["pair"] for r in rows):
            ref = next((r for r in rows if r["pair"] == pair and r["config"] == "content"), None)
            if ref is None:
                continue
            content, style, other = clips_of(clips, tuple(pair.split("+")), c_sec, s_sec, excerpt)
            missing = [(name, x) for name, x in reference_mixes(clips, tuple(pair.split("+")), c_sec, s_sec,
                                                                  excerpt, content, other) if (pair, name) not in have]
            if not missing:
                continue
            tagger = load_tagger() if with_tagger else None  # only now: a complete report needs no tagger
            features = None
            if with_features:
                from feature_distance import FeatureDistance

                features = FeatureDistance(content, style, SR)
            at = next((i for i, r in enumerate(rows) if r["pair"] == pair and r["config"] == "style*"), len(rows))
            new = []
            for name, x in missing:
                row = {"pair": pair, "config": name, **measure(x, content, style, tagger, features)}
                row["position"] = float(np.mean(list(quality.positions(row, ref).values())))
                if tagger is not None:
                    row["tagger_ratio"] = row["tagger_frechet"] / ref["tagger_frechet"]
                new.append(row)
                have.add((pair, name))
            rows[at:at] = new
            added += len(new)
            print(f"  {pair}: added {', '.join(name for name, _ in missing)}", flush=True)
    return added


def rescore(args) -> int:
    """Merge earlier reports; with --tagger (--features), add the tagger (re-compute the hand-made-feature)
    distance of every stored output."""
    reports = [json.loads(path.read_text()) for path in args.from_json]
    seen = set()
    for report in reports:  # a config measured in two runs appears once (the runs are deterministic)
        report["rows"] = [r for r in report["rows"] if (r["pair"], r["config"]) not in seen
                          and not seen.add((r["pair"], r["config"]))]
    tagger = None

    def load_tagger():
        nonlocal tagger
        if tagger is None:
            try:
                from tagger_distance import TaggerDistance

                tagger = TaggerDistance()
            except ImportError as e:
                raise SystemExit(f"these reports' rows carry tagger scores, so the mixes they lack need the tagger "
                                 f"too ({e}); run this with the tagger's python (README, the tagger's set-up)")
        return tagger

    add_missing_references(reports, load_tagger)
    rows = [row for report in reports for row in report["rows"]]
    if args.tagger or args.features:
        if args.tagger:
            load_tagger()
        from feature_distance import FeatureDistance

        evaluators = {}
        for report in reports:
            st = report["settings"]
            if isinstance(st, list) and len(st) == 1:  # an earlier re-score of one run
                st = st[0]
            if isinstance(st, list):
                raise SystemExit("--tagger/--features re-score the outputs of single runs; pass the runs' own reports, "
                                 "not a merge")
            out = Path(st["out"])
            clips = source(st.get("source", "generated"))
            pairs = {pair: clips_of(clips, tuple(pair.split("+")), st["content_seconds"], st["style_seconds"],
                                    st.get("excerpt", 0))
                     for pair in dict.fromkeys(row["pair"] for row in report["rows"])}  # once a pair, not a row
            placebos = {}
            for row in report["rows"]:
                content, style, other = pairs[row["pair"]]
                if row["config"] == "content":
                    x = content
                elif row["config"] == "mix30" and "mix20" not in {r["config"] for r in report["rows"]}:
                    # reports before the mix frontier
                    x = quality.equal_rms(content) + 0.3 * quality.equal_rms(style[:content.size])
                elif row["config"].startswith("mix"):
                    x = mix(content, other, int(row["config"][3:]) / 100)
                elif row["config"] == "style*":
                    x = other
                elif is_placebo(row["config"]):
                    if row["pair"] not in placebos:  # once a pair: each builds every placebo layer
                        placebos[row["pair"]] = dict(placebo_mixes(clips, tuple(row["pair"].split("+")),
                                                                   st["content_seconds"], st["style_seconds"],
                                                                   st.get("excerpt", 0), content, other))
                    x = placebos[row["pair"]][row["config"]]
                else:
                    opt, phase = row["config"].split("/")
                    x = read(out / row["pair"] / opt / f"{phase}.wav")
                if tagger is not None:
                    row["tagger_frechet"] = tagger.distance(x, style, SR)
                if args.features:
                    key = (row["pair"], st["content_seconds"], st["style_seconds"], st.get("excerpt", 0))
                    if key not in evaluators:
                        evaluators[key] = FeatureDistance(content, style, SR)
                    row["feature_frechet"] = evaluators[key].distance(x)
        add_tagger_ratios(rows, tagger)
    add_frontier(rows)
    summary = summarise(rows)
    print_table(rows, summary, any("tagger_ratio" in r for r in rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        # A report may itself be a merge (lists of settings and load averages): keep every entry.
        settings = [st for r in reports for st in (r["settings"] if isinstance(r["settings"], list) else [r["settings"]])]
        loads = [la for r in reports for la in (r["load_average"] if "load_average" in r
                                                else [(r["load_average_start"], r["load_average_end"])])]
        args.json.write_text(json.dumps({"settings": settings, "load_average": loads, "rows": rows,
                                         "summary": summary, "placebo_spread": placebo_spread(rows)}, indent=1))
        print(f"wrote {args.json}")
    return 0


def job_argv(argv: list[str], pairs: list[tuple[str, str]], report: Path) -> list[str]:
    """The arguments of one job of ``--jobs``: this run's, with its own pairs and report and no further jobs."""
    takes_value, flags = {"--jobs", "--json", "--pairs"}, {"--held-out", "--fresh", "--unseen", "--all-sets"}
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg.split("=", 1)[0] in takes_value:
            skip = "=" not in arg
        elif arg not in flags:
            kept.append(arg)
    return kept + ["--pairs", ",".join("+".join(p) for p in pairs), "--json", str(report)]


def run_jobs(argv: list[str], pairs: list[tuple[str, str]], args) -> int:
    """--jobs: the pairs dealt round-robin to that many processes of this script, their reports merged as
    --from-json merges them (each job's frontier and placebos are its own pairs', so nothing is re-measured)."""
    import subprocess

    if args.source == "devset":
        source("devset").build()  # once, here: jobs building the same missing clips at once would race
    chunks = [pairs[k::args.jobs] for k in range(min(args.jobs, len(pairs)))]
    reports = [args.out / f"job{k}.json" for k in range(len(chunks))]
    jobs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *job_argv(argv, chunk, report)])
            for chunk, report in zip(chunks, reports)]
    codes = [job.wait() for job in jobs]
    if any(codes):
        raise SystemExit(f"quality.py: a job failed (exit codes {codes}); its error is above, and the other jobs' "
                         f"reports are in {args.out}")
    return rescore(argparse.Namespace(**{**vars(args), "from_json": reports, "tagger": False, "features": False}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--content-seconds", type=float, default=3.0)
    ap.add_argument("--style-seconds", type=float, default=4.0)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--n-filters", type=int, default=512)
    ap.add_argument("--gl-iterations", type=int, default=100)
    ap.add_argument("--configs", default=",".join(CORE_CONFIGS),
                    help="comma-separated, or 'all': " + ", ".join(OPTIMISERS))
    ap.add_argument("--source", choices=("generated", "devset"), default="generated",
                    help="generated: bench/signals.py's synthetic pairs; devset: real recordings (bench/devset.py)")
    ap.add_argument("--excerpt", type=int, default=0, help="which excerpts of the recordings (0: the first; 1: "
                    "the next ones, a held-out check of choices made on 0)")
    ap.add_argument("--pairs", default=None, help="comma-separated content+style (default: every pair of --source)")
    which_pairs = ap.add_mutually_exclusive_group()
    which_pairs.add_argument("--held-out", action="store_true", help="with --source devset: the held-out pairs "
                             "(other recordings of the same five kinds, devset.HELD_OUT_PAIRS) instead of the tuning "
                             "pairs")
    which_pairs.add_argument("--fresh", action="store_true", help="with --source devset: the fresh pairs (five more "
                             "of the same kinds, added after every choice made on the other ten: devset.FRESH_PAIRS)")
    which_pairs.add_argument("--unseen", action="store_true", help="with --source devset: the unseen pairs (five "
                             "more, committed before any run on them, after the fifteen: devset.UNSEEN_PAIRS)")
    which_pairs.add_argument("--all-sets", action="store_true", help="with --source devset: all fifteen pairs (the "
                             "tuning, held-out and fresh ones)")
    ap.add_argument("--jobs", type=int, default=1, help="run the pairs in this many processes (one torch thread each, "
                    "so 2 on 2 cores), then merge their reports (OUT/job*.json) into --json")
    ap.add_argument("--no-features", action="store_true", help="skip the hand-made-feature evaluator")
    ap.add_argument("--features", action="store_true", help="with --from-json: re-compute the hand-made-feature "
                    "distance of every stored output")
    ap.add_argument("--all-phases", action="store_true", help="feed every phase variant from every optimiser run")
    ap.add_argument("--out", type=Path, default=Path("out/quality"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1; see main())")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--tagger", action="store_true", help="add the musicnn Fréchet ratio (needs bench extra: musicnn)")
    ap.add_argument("--from-json", type=Path, nargs="+", default=None,
                    help="no new runs: merge these earlier reports (their WAVs must still exist) and re-score them")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if args.from_json:
        return rescore(args)
    args.configs = list(OPTIMISERS) if args.configs == "all" else [c for c in args.configs.split(",") if c]
    unknown = [c for c in args.configs if c not in OPTIMISERS and c not in POST and c not in FEATURE]
    if unknown:
        ap.error(f"unknown configs {unknown}; choose from {', '.join(OPTIMISERS)}")
    for flag, chosen, which in (("--held-out", args.held_out, "held-out"), ("--fresh", args.fresh, "fresh"),
                                ("--unseen", args.unseen, "unseen"), ("--all-sets", args.all_sets, "fifteen")):
        if chosen and (args.source != "devset" or args.pairs is not None):
            ap.error(f"{flag} picks the devset's {which} pairs: use it with --source devset and without --pairs")
    if args.jobs < 1:
        ap.error(f"--jobs {args.jobs}: give at least 1")
    if args.pairs is None:
        clips = source(args.source)
        chosen = clips.HELD_OUT_PAIRS if args.held_out else clips.FRESH_PAIRS if args.fresh else \
            clips.UNSEEN_PAIRS if args.unseen else \
            clips.PAIRS + clips.HELD_OUT_PAIRS + clips.FRESH_PAIRS if args.all_sets else clips.PAIRS
        args.pairs = ",".join(f"{c}+{s}" for c, s in chosen)
    pairs = [tuple(p.split("+")) for p in args.pairs.split(",") if p]
    if args.jobs > 1 and len(pairs) > 1:
        return run_jobs(argv, pairs, args)
    import torch

    # On a loaded machine, torch's OpenMP threads spin against other processes: one thread measured
    # ~10x faster Griffin-Lim here than two. Parallelise across benchmark processes instead.
    torch.set_num_threads(args.threads)
    tagger = None
    if args.tagger:
        from tagger_distance import TaggerDistance

        tagger = TaggerDistance()
    load = os.getloadavg()
    print(f"content {args.content_seconds} s, style {args.style_seconds} s, {args.n_filters} filters, "
          f"{args.iterations} iterations, Griffin-Lim {args.gl_iterations}; load average {load[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    rows = []
    for pair in pairs:
        rows += run_pair(pair, args, args.out, tagger)
    add_tagger_ratios(rows, tagger)
    add_frontier(rows)
    summary = summarise(rows)
    print_table(rows, summary, any("tagger_ratio" in r for r in rows))
    report = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "load_average_start": load, "load_average_end": os.getloadavg(), "seconds": time.perf_counter() - t0,
              "rows": rows, "summary": summary, "placebo_spread": placebo_spread(rows)}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
