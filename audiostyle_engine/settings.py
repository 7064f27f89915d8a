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

# Style transfer at scale (not in the paper; engineering limits, see bench/style_transfer.py)
STYLE_MEMORY_BUDGET_MB = 8192.0  # content needing more than this is optimised in overlapping segments
SEGMENT_OVERLAP_FRAMES = 64  # ~0.75 s at 44.1 kHz / hop 512, crossfaded between segments
TOLERANCE_WINDOW = 10  # iterations over which the convergence tolerance compares the loss
