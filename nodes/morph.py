"""morph: spectral-envelope cross-synthesis — the signal's fine structure under the reference's band envelopes."""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.spec import NodeSpec, Param

from ._reference import ReferenceNode, reference_ports

N_FFT = settings.N_FFT
HOP = settings.HOP_LENGTH


class Morph(ReferenceNode):
    spec = NodeSpec(
        type_name="morph",
        category="signal",
        summary="Cross-synthesis: keep the signal's pitch and harmonics, take the reference's spectral envelope "
                "and its rhythm, by amount.",
        doc="Like a channel vocoder with the roles chosen for style transfer: per mel band and STFT frame, the "
            "signal's energy E_s is moved to E_s^(1-amount) · E_r^amount, where E_r is the reference's (looped to "
            "the signal's length). The gain is applied to the signal's own STFT, so its phase and its fine "
            "structure within each band (the partials that carry pitch) stay; what changes is timbre and the "
            "band-wise level contour. Also usable as the start of feature_style (its `start` input).",
        **reference_ports("the signal whose fine structure is kept, e.g. the content",
                          "the sound whose envelopes are imposed, e.g. the style"),
        params=(
            Param("amount", "float", settings.MORPH_AMOUNT, "0 = unchanged, 1 = the reference's band envelopes exactly "
                  "(geometric interpolation between the two per band and frame)", min=0.0, max=1.0),
            Param("bands", "int", settings.MORPH_BANDS, "mel bands of the envelopes: fewer keeps more of the "
                  "signal's own spectral detail", min=4, max=256),
            Param("max_boost_db", "float", settings.MORPH_MAX_BOOST_DB, "cap on the gain of any bin, so "
                  "near-silent parts of the signal are not raised into hiss", min=0.0, max=120.0, unit="dB"),
        ),
    )

    def apply(self, ctx, x, ref, sample_rate):
        p = self.params
        # The reference's envelopes are the same for every channel: computed once.
        mel, ref_energy = reference_envelopes(ref, x.shape[1], sample_rate, p["bands"])
        out = np.empty_like(x)
        lowest, highest = np.inf, -np.inf
        for ch in range(x.shape[0]):
            out[ch], gain_db = morph_channel(x[ch], mel, ref_energy, p["amount"], p["max_boost_db"])
            lowest, highest = min(lowest, float(gain_db.min())), max(highest, float(gain_db.max()))
        ctx.record("gain_db_range", [round(lowest, 2), round(highest, 2)])
        return out


def morph(x: np.ndarray, reference: np.ndarray, sample_rate: int, amount: float, bands: int = settings.MORPH_BANDS,
          max_boost_db: float = settings.MORPH_MAX_BOOST_DB) -> tuple[np.ndarray, np.ndarray]:
    """(x with its band envelopes moved `amount` of the way to the reference's, the per-bin gain in dB)."""
    mel, ref_energy = reference_envelopes(reference, x.size, sample_rate, bands)
    return morph_channel(x, mel, ref_energy, amount, max_boost_db)


def reference_envelopes(reference: np.ndarray, n: int, sample_rate: int, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """(the mel filters, the reference's band energies [bands, frames]), the reference looped (or cut) to n
    samples so that its frames line up with the signal's."""
    import librosa

    R = librosa.stft(np.resize(reference, n), n_fft=N_FFT, hop_length=HOP)
    mel = librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=bands)
    return mel, mel @ (np.abs(R) ** 2)


def morph_channel(x: np.ndarray, mel: np.ndarray, ref_energy: np.ndarray, amount: float,
                  max_boost_db: float) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    X = librosa.stft(x, n_fft=N_FFT, hop_length=HOP)
    ex = mel @ (np.abs(X) ** 2)
    # Envelopes at one level: the reference's loudness must not turn the whole signal up or down.
    er = ref_energy * (ex.sum() / max(ref_energy.sum(), 1e-30))
    tiny = 1e-12 * max(ex.max(), er.max())
    band_gain_db = np.minimum(10.0 * amount * (np.log10(er + tiny) - np.log10(ex + tiny)), max_boost_db)
    # Each bin takes the weighted mean of the gains (in dB) of the bands that cover it; uncovered bins keep 0 dB.
    weights = mel / np.maximum(mel.sum(axis=0, keepdims=True), 1e-30)
    bin_gain_db = weights.T @ band_gain_db
    y = librosa.istft(X * 10 ** (bin_gain_db / 20), hop_length=HOP, length=x.size)
    return y, bin_gain_db
