"""The numbers that matter, in one place, with the paper's values as defaults.

Choksi, Sawant, Mali, "Style Transfer for Audio using Convolutional Neural Networks".
Where the paper is silent, the value comes from the widely used open reference implementation
of this method (Ulyanov & Lebedev's neural-style-audio): kernel width, hop, Gram normalisation,
the size of the random start.
"""

SAMPLE_RATE = 44100  # paper §4: mono WAV at 44.1 kHz
N_FFT = 2048  # paper §4: "block size ... 2048"
HOP_LENGTH = 512  # not in the paper; n_fft / 4, librosa's and the reference implementation's default
WINDOW = "hann"
MAGNITUDE_SCALE = "log1p"  # paper §3.1: M_ij = log(1 + m_ij)

N_FILTERS = 4096  # paper §3.2
KERNEL_WIDTH = 11  # not in the paper; the open reference implementation uses 11 frames
ALPHA = 0.1  # paper §4: content weight
BETA = 1.0  # paper: style weight (its value is not given; alpha is the trade-off)
ITERATIONS = 500  # paper §4: 500 epochs of L-BFGS-B
INIT_SCALE = 1e-3  # reference implementation: random start ~ N(0, 1e-3²)
GRAM_NORMALIZATION = "frames"  # reference implementation: Gram divided by the number of frames

GRIFFIN_LIM_ITERATIONS = 500  # reference implementation: 500 Griffin-Lim iterations
GRIFFIN_LIM_MOMENTUM = 0.99  # fast Griffin-Lim (Perraudin et al. 2013), as librosa's default

CONTENT_SECONDS = 10.0  # paper §4: 10 s output
STYLE_SECONDS = 20.0  # paper §4: 20 s inputs
MIN_STYLE_TRANSFER_SECONDS = 0.5  # shorter clips give too few frames for meaningful statistics
SILENCE_DBFS = -80.0  # below this peak level a clip is treated as silent

# Plugin hosting (nodes/fx.py). Not from the paper: engineering limits, chosen so results do not
# depend on how a file is cut into blocks and so one bad plugin cannot stall a batch.
PLUGIN_BUFFER_SIZE = 512  # frames per plugin process() call, fixed so block-streamed = whole-file output
PLUGIN_STREAM_BLOCK = 65536  # frames handed to the chain at a time (rounded to a multiple of the buffer size)
# After the input, silence is fed in smaller blocks: the tail ends on the signal, so a big block only
# renders past the end (measured: ~3 s of extra reverb tail per file at 65536 frames).
PLUGIN_TAIL_BLOCK = 8192
TAIL_SILENCE_DBFS = -90.0  # an effect's tail has ended when its output stays below this ...
TAIL_SILENCE_SECONDS = 1.5  # ... for this long (longer than the echo gap of most delays)
TAIL_MAX_SECONDS = 30.0  # cap for automatic tails (a feedback loop that never decays)
PLUGIN_LOAD_TIME_LIMIT = 300.0  # seconds a plugin may take to load and describe itself
PLUGIN_RENDER_TIME_LIMIT = 600.0  # seconds a plugin chain may take for one file
PLUGIN_WORKER_MAX_JOBS = 32  # a plugin worker process is replaced after this many jobs, bounding leaks

# Report quality measures (not the paper's; chosen so that they are independent of the optimiser).
QUALITY_REFERENCE_RMS_DBFS = -20.0  # every signal is scaled to this RMS first: a quieter output is not "closer"
QUALITY_N_FFT = 2048  # log-spectrogram for the content correlation, as the paper's analysis
QUALITY_HOP_LENGTH = 512
QUALITY_N_MELS = 64  # log-mel frame statistics for the style distance: a feature space the optimiser never saw
QUALITY_FLOOR_DB = -100.0  # log-mel floor, so near-silent bands do not dominate the statistics
# The layering curve a styled output is compared with (bench/quality.py and the report). Dense near the
# content, where it bends most: a little of a drum loop fills every silence of a voice at once. Sampled at
# the layer amounts graphs use (3, 6, 10, 15 %) and between: sampled at 2, 5, 10, 20 … % only, plain mixes at
# 4-15 % lay up to 0.02 below the interpolated curve (6 %: 0.01), a margin that layering alone earned.
QUALITY_MIX_FRACTIONS = (0.02, 0.03, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.35, 0.5, 0.65, 0.8)
# Placebos: the same mixes with the style placed elsewhere (shifted by these fractions of its length). Their
# margins to the curve are what layering scores by the luck of where the style falls, so a result's margin is
# read against their range, not against zero.
QUALITY_PLACEBO_FRACTIONS = (0.06, 0.2)  # the presets' layer amount, and a mix a remixer would use
QUALITY_PLACEBO_SHIFTS = (0.25, 0.5, 0.75)
# The report's placebos loop the style under the content, and a remixer's content and loop often share a tempo:
# with a 1-bar loop under 4 bars, shifts of 1/4, 1/2, 3/4 of the length are whole bars and move nothing (the
# bundled example's placebos all landed on the curve). Golden-ratio fractions ({k·φ}, k = 2, 1, 3) land off
# the bar and off the beat for any loop whose length divides the content's in a simple ratio.
REPORT_PLACEBO_SHIFTS = (0.236, 0.618, 0.854)
# The plain mix a report plays beside a result (and bench/listening.py puts against it): the fraction whose
# content correlation equals the result's, found to this tolerance (margins are read to 0.01), up to this much style.
QUALITY_MATCHED_MIX_TOLERANCE = 0.002
QUALITY_MATCHED_MIX_MAX_FRACTION = 0.95
REPORT_SPECTROGRAM_RANGE_DB = 90.0  # spectrogram images share one colour scale spanning this range

# Watch mode (not from the paper): a file is processed once its size and mtime stayed the same this
# long — long enough for copies over a network share to pause between chunks, short enough to feel live.
WATCH_SETTLE_SECONDS = 2.0
WATCH_POLL_SECONDS = 0.25  # how often pending files are re-checked and finished jobs collected

# Style transfer at scale (not in the paper; engineering limits, see bench/style_transfer.py)
STYLE_MEMORY_BUDGET_MB = 8192.0  # content needing more than this is optimised in overlapping segments
SEGMENT_OVERLAP_FRAMES = 64  # ~0.75 s at 44.1 kHz / hop 512, crossfaded between segments
TOLERANCE_WINDOW = 10  # iterations over which the convergence tolerance compares the loss

# precision: auto (audiostyle_engine/precision.py). bf16 runs only where a probe GEMM of this shape
# ([rows, K·C, filters], the conv's GEMM shrunk to milliseconds) measured at least BF16_MIN_SPEEDUP times
# fp32's speed: below that, bf16's rounding buys too little.
PRECISION_PROBE_SHAPE = (256, 1024, 1024)
# feature_style's network: one 3×3 convolution [in channels, out channels, frames, mel positions], its block 2 on ~5 s
PRECISION_CONV_PROBE_SHAPE = (64, 128, 108, 48)
BF16_MIN_SPEEDUP = 1.2

# The match node (nodes/match.py; not in the paper): reference matching as a mastering tool does it.
MATCH_N_FFT = 4096  # long-term spectrum resolution: 10.8 Hz bins at 44.1 kHz
MATCH_SMOOTHING_OCTAVES = 1 / 3  # the EQ curve follows third-octave balance, not single partials
MATCH_MAX_GAIN_DB = 24.0  # no bin, frame or envelope step is boosted or cut by more than this
MATCH_LEVEL_SECONDS = 0.05  # short-term level window: one drum hit, one syllable
MATCH_ACTIVE_RANGE_DB = 40.0  # frames within this of the loudest count as active (the rest is silence)

# feature_style's presets (nodes/feature_style.py; not in the paper), picked by ear and measured on the real-recording
# set in README ("Presets and graphs/beyond_paper.yaml"): name -> the params each one sets.
FEATURE_STYLE_PRESETS = {
    "subtle": {"alpha": 1.0, "beta": 1.0, "texture_weight": 0.0},
    "balanced": {"alpha": 0.3, "beta": 1.0, "texture_weight": 0.0},
    "strong": {"alpha": 0.1, "beta": 1.0, "texture_weight": 0.0},
}

# feature_style's hold_content: the weight of (target − correlation)² below the start's content correlation.
# Large, so the floor holds to about 0.003 (measured on the devset) and the style term spends everything above it.
FEATURE_HOLD_CONTENT_WEIGHT = 1000.0
# hold_scale: mel, the bands its correlation is taken over (the pretrained network's front end has 96)
FEATURE_HOLD_MEL_BANDS = 96

# feature_style's consistent domain optimises log(|S| + this): a floor far below any audible bin, so that
# digitally silent bins have a finite start.
FEATURE_CONSISTENT_FLOOR = 1e-9
# ...and no bin of z (a natural-log magnitude) may rise more than this above the start's loudest (+260 dB): a line
# search's trial step put one at 120 (perc2+violin2 with onset_weight 1, one torch thread), exp() overflowed
# float32, the loss turned NaN, and torch's strong-Wolfe search, which cannot compare NaN, stepped on to 1e30.
# Trial steps do go far (the bundled beyond_paper's fp32 run tries a bin 21.6 above its start's loudest), so the
# bound is far enough above to leave those paths alone; a trial beyond it (|S|² overflows from about 44 above a
# full-scale start) now sees the bound instead, which is the one place a run's path can differ from before it.
FEATURE_LOG_HEADROOM = 30.0

FEATURE_RHYTHM_SECONDS = 2.0  # feature_style's rhythm loss: lags up to one bar at 120 bpm

# The morph node (nodes/morph.py; not in the paper): cross-synthesis on the paper's STFT.
MORPH_AMOUNT = 0.5  # half-way between the two envelopes per band, in dB
MORPH_BANDS = 64  # mel bands of the envelopes, as the quality measures' mel resolution
MORPH_MAX_BOOST_DB = 30.0  # above this, a near-silent bin would be raised into hiss
# layer: the share of the reference under the signal, both at equal RMS first (the bench's mixes' rule).
# 0.06 is what beyond_paper.yaml measured best (docs/quality.md, "The levers, measured").
LAYER_AMOUNT = 0.06

# Where computed style targets are kept between runs (nodes/_style/cache.py), keyed by content hashes.
CACHE_DIR_ENV = "AUDIOSTYLE_CACHE_DIR"


def default_cache_dir():
    """$AUDIOSTYLE_CACHE_DIR, else $XDG_CACHE_HOME/audiostyle, else ~/.cache/audiostyle."""
    import os
    from pathlib import Path

    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "audiostyle"
