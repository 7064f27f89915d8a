"""resample: change the sample rate with a high-quality (soxr) resampler."""
from __future__ import annotations

from audiostyle_engine import settings
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port


class Resample(Node):
    spec = NodeSpec(
        type_name="resample",
        category="signal",
        summary="Resample to a target rate (soxr, very high quality by default).",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("sample_rate", "int", settings.SAMPLE_RATE, "target rate", min=1000, max=768000, unit="Hz"),
            Param("quality", "choice", "soxr_vhq", "resampler", choices=("soxr_vhq", "soxr_hq", "soxr_mq", "soxr_lq")),
        ),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": inputs.get("audio", UNKNOWN).replace(sample_rate=params["sample_rate"], frames=None)}

    def process(self, ctx, audio) -> dict:
        target = self.params["sample_rate"]
        if audio.sample_rate == target:
            return {"audio": audio}
        import librosa

        samples = librosa.resample(audio.samples, orig_sr=audio.sample_rate, target_sr=target,
                                   res_type=self.params["quality"], axis=-1)
        return {"audio": audio.with_samples(samples, target)}
