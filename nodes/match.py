"""match: move the long-term spectrum, dynamics, level contour and loudness of a signal towards a reference."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.spec import NodeSpec, Param

from ._reference import ReferenceNode, reference_ports


class Match(ReferenceNode):
    spec = NodeSpec(
        type_name="match",
        category="signal",
        summary="Match the long-term spectrum, dynamics and loudness (and optionally the level contour) to a reference.",
        **reference_ports("the signal to change, e.g. the styled output",
                          "the sound to match, e.g. the style"),
        params=(
            Param("strength", "float", 1.0, "overall amount: 0 = unchanged, 1 = matched; scales every step",
                  min=0.0, max=1.0),
            Param("spectrum", "float", 1.0, "amount of the third-octave long-term spectrum match", min=0.0, max=1.0),
            Param("dynamics", "float", 1.0, "amount of the short-term level spread match", min=0.0, max=1.0),
            Param("envelope", "float", 0.0, "amount of the reference's level contour (its rhythm) imposed, "
                  "the reference looped", min=0.0, max=1.0),
            Param("loudness", "float", 1.0, "amount of the integrated loudness (BS.1770) match", min=0.0, max=1.0),
            Param("by_percussive", "bool", False, "scale strength by the reference's percussive share (the part "
                  "of its energy harmonic-percussive separation calls percussive, 0–1): a drum loop's colour is its "
                  "long-term spectrum, an instrument's is in its partials, which a spectrum match blurs "
                  "(measured in docs/quality.md, \"Four more levers on the five pairs still short\")"),
            Param("max_peak_db", "float", -1.0, "after every step, turn down so the peak stays below this",
                  min=-60.0, max=6.0, unit="dBFS"),
        ),
    )

    def process(self, ctx, audio, reference) -> dict:
        # "0 = unchanged": the input itself, not turned down to the peak ceiling (inputs at different rates
        # still fail, as at any strength)
        if self.params["strength"] == 0 and audio.sample_rate == reference.sample_rate:
            return {"audio": audio}
        return super().process(ctx, audio, reference)

    def apply(self, ctx, x, ref, sample_rate):
        from . import _match_dsp as dsp
        from audiostyle_engine.loudness import integrated_loudness

        p, sr = self.params, sample_rate
        strength, record = p["strength"], {}
        if p["by_percussive"]:
            share = dsp.percussive_share(ref)
            strength *= share
            record["percussive_share"] = round(share, 3)
        amount = {k: strength * p[k] for k in ("spectrum", "dynamics", "envelope", "loudness")}
        if amount["spectrum"] > 0:
            gain = dsp.spectrum_gain_db(x.mean(axis=0), ref, sr, amount["spectrum"])
            x = dsp.apply_gain_db(x, gain)
            record["spectrum_gain_db_range"] = [round(float(gain.min()), 2), round(float(gain.max()), 2)]
        for step, fn in (("dynamics", dsp.dynamics_gain), ("envelope", dsp.envelope_gain)):
            if amount[step] > 0:
                x = x * fn(x.mean(axis=0), ref, sr, amount[step])[None, :]
        if amount["loudness"] > 0:
            have, want = integrated_loudness(x, sr), integrated_loudness(ref[None, :], sr)
            if np.isfinite(have) and np.isfinite(want):
                x = x * 10 ** (amount["loudness"] * (want - have) / 20)
                record["loudness_change_db"] = round(float(amount["loudness"] * (want - have)), 2)
        ceiling = 10 ** (p["max_peak_db"] / 20)
        peak = float(np.max(np.abs(x)))
        if peak > ceiling:
            x = x * (ceiling / peak)
            record["peak_limited_db"] = round(float(20 * np.log10(ceiling / peak)), 2)
        for key, value in record.items():
            ctx.record(key, value)
        return x
