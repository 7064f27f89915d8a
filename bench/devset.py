"""A development set of real recordings for the quality bench, built from Debian packages.

    apt-get install sonic-pi-samples hydrogen-data fluidsynth fluid-soundfont-gm alsa-utils
    pip install mido
    python bench/devset.py [CACHE_DIR]        # default: $AUDIOSTYLE_DEVSET or ~/.cache/audiostyle/devset

Nothing is committed: this script assembles 30 s clips (mono, 44.1 kHz, float WAV) into the cache
folder from recorded samples that the packages ship, and writes LICENSES.md beside them:

- speech:  a man's voice reading the channel names (alsa-utils' speaker-test recordings), joined;
- piano / trumpet / violin: phrases rendered with FluidSynth from the FluidR3 GM sound font
  (sampled instruments; the phrases are written here as MIDI with mido);
- rock:   a 120 bpm rock beat played on Hydrogen's GMRockKit (multi-sampled recorded kit);
- amen / breakbeat / tabla / compus: Sonic Pi's recorded loops (CC0), tiled.
- held out: guitar (Ode to Joy) and flute (Greensleeves), another trumpet and another violin phrase, all
  FluidSynth renders as above; Sonic Pi's electric, amen_full, safari, garzul and perc2 loops.
- fresh: harp (a phrase after Scarborough Fair) and clarinet (Frere Jacques), a third trumpet and a third
  violin phrase, FluidSynth renders; a 90 bpm beat on Hydrogen's TR808EmulationKit; Sonic Pi's perc1,
  industrial, mehackit1 and mehackit2 loops.
- unseen: oboe (a melody after Amazing Grace) and marimba (Twinkle, Twinkle), a fourth trumpet and a fourth
  violin phrase, FluidSynth renders; a 100 bpm funk beat and a 140 bpm ride beat on GMRockKit, a 120 bpm
  electro beat on TR808EmulationKit; Sonic Pi's mika and weirdo loops.

The pairs are the paper's five kinds, each kind with other recordings than the others where the
packages allow. HELD_OUT_PAIRS are five more of the same kinds, from recordings and phrases no choice of
the bench was made on (the one real voice excepted, under another drum loop): run them with
`bench/quality.py --source devset --held-out` to see whether a choice made on PAIRS holds on other
material. FRESH_PAIRS are five more again, added after every choice made on the other ten (and after a
rule was read off them), so that such a rule has a check left: `--fresh`. UNSEEN_PAIRS are five more again,
committed before any run on them, after those fifteen had become development pairs: `--unseen`. The generated
pairs of bench/signals.py stay for the tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SR = 44100
CLIP_SECONDS = 30.0  # long enough for 10 s content, 10 s style and a second style excerpt
VERSION = 3  # bump when a clip changes, so cached sets are rebuilt

SONIC_PI = Path("/usr/share/sonic-pi/samples")
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")
ROCK_KIT = Path("/usr/share/hydrogen/data/drumkits/GMRockKit")
TR808_KIT = Path("/usr/share/hydrogen/data/drumkits/TR808EmulationKit")
SOUND_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# The paper's kinds of pair (content, style), with the clip that plays each role.
PAIRS = (("speech", "rock"), ("piano", "trumpet"), ("piano", "amen"), ("tabla", "breakbeat"), ("compus", "violin"))
# The same five kinds from other recordings and phrases, for a held-out check (none of them was tuned on).
HELD_OUT_PAIRS = (("speech", "electric"), ("guitar", "trumpet2"), ("flute", "amen_full"), ("safari", "garzul"),
                  ("perc2", "violin2"))
# Five more again, made after every choice so far: the one real voice again, everything else new.
FRESH_PAIRS = (("speech", "tr808"), ("harp", "trumpet3"), ("clarinet", "mehackit1"), ("perc1", "industrial"),
               ("mehackit2", "violin3"))
# Five more again (2026-12-03), committed before anything ran on them: new phrases, beats and loops throughout
# (the one real voice excepted), the check for what was chosen on the fifteen above.
UNSEEN_PAIRS = (("speech", "funk"), ("oboe", "trumpet4"), ("marimba", "electro"), ("mika", "ride"),
                ("weirdo", "violin4"))
KINDS = {"speech+rock": "speech+drums", "piano+trumpet": "instrumental+trumpet", "piano+amen": "instrumental+drums",
         "tabla+breakbeat": "rhythm+drums", "compus+violin": "rhythm+violin",
         "speech+electric": "speech+drums", "guitar+trumpet2": "instrumental+trumpet",
         "flute+amen_full": "instrumental+drums", "safari+garzul": "rhythm+drums", "perc2+violin2": "rhythm+violin",
         "speech+tr808": "speech+drums", "harp+trumpet3": "instrumental+trumpet",
         "clarinet+mehackit1": "instrumental+drums", "perc1+industrial": "rhythm+drums",
         "mehackit2+violin3": "rhythm+violin",
         "speech+funk": "speech+drums", "oboe+trumpet4": "instrumental+trumpet", "marimba+electro": "instrumental+drums",
         "mika+ride": "rhythm+drums", "weirdo+violin4": "rhythm+violin"}

def _rendered(what: str) -> tuple[str, str, str]:
    """(package, source, licence) of a FluidSynth render from the FluidR3 GM sound font."""
    return "fluid-soundfont-gm (Debian) + fluidsynth", f"FluidR3_GM.sf2, {what}", "MIT (FluidR3 by Frank Wen)"


def _sonic_pi(loop: str, licence: str = "CC0 1.0") -> tuple[str, str, str]:
    """(package, source, licence) of one of Sonic Pi's recorded loops."""
    return "sonic-pi-samples (Debian)", f"loop_{loop}.flac", licence


LICENCES = {
    "speech": ("alsa-utils (Debian)", "/usr/share/sounds/alsa/{Front,Rear,Side}_*.wav, speaker-test voice prompts",
               "GPL-2 (the package's copyright file covers every file it ships)"),
    "piano": _rendered("program 0 (Acoustic Grand Piano); melody: the Minuet in G, BWV Anh. 114 (public domain), "
                       "opening bars"),
    "trumpet": _rendered("program 56 (Trumpet); a phrase written here"),
    "violin": _rendered("program 40 (Violin); a phrase written here"),
    "rock": ("hydrogen-data (Debian)", "drumkits/GMRockKit: Kick, Snare, HatClosed, Crash samples; a 120 bpm "
             "rock pattern written here", "GPL-2+ (package copyright); drumkit.xml says GPL"),
    "amen": _sonic_pi("amen", "CC0 1.0 (samples/README.md: freesound.org, public domain)"),
    **{loop: _sonic_pi(loop) for loop in ("breakbeat", "tabla", "compus")},
    "guitar": _rendered("program 24 (Nylon Guitar); melody: Beethoven's Ode to Joy (public domain) over a bass "
                        "written here"),
    "flute": _rendered("program 73 (Flute); melody: Greensleeves (traditional, public domain)"),
    "trumpet2": _rendered("program 56 (Trumpet); another phrase written here"),
    "violin2": _rendered("program 40 (Violin); another phrase written here"),
    **{loop: _sonic_pi(loop) for loop in ("electric", "amen_full", "safari", "garzul", "perc2")},
    "tr808": ("hydrogen-data (Debian)", "drumkits/TR808EmulationKit (ArtemioLabs): 808 kick, snare, clap, hats; "
              "a 90 bpm pattern written here", "GPL-2+ (package copyright); drumkit.xml says GPL"),
    "harp": _rendered("program 46 (Orchestral Harp); a melody after Scarborough Fair (traditional, public domain) "
                      "over a bass written here"),
    "clarinet": _rendered("program 71 (Clarinet); melody: Frere Jacques (traditional, public domain)"),
    "trumpet3": _rendered("program 56 (Trumpet); a third phrase written here"),
    "violin3": _rendered("program 40 (Violin); a third phrase written here"),
    **{loop: _sonic_pi(loop) for loop in ("perc1", "industrial", "mehackit1", "mehackit2")},
    "funk": ("hydrogen-data (Debian)", "drumkits/GMRockKit: Kick, Snare, HatClosed, HatOpen samples; a 100 bpm funk "
             "pattern written here", "GPL-2+ (package copyright); drumkit.xml says GPL"),
    "ride": ("hydrogen-data (Debian)", "drumkits/GMRockKit: Ride, Kick, SideStick, HatPedal samples; a 140 bpm ride "
             "pattern written here", "GPL-2+ (package copyright); drumkit.xml says GPL"),
    "electro": ("hydrogen-data (Debian)", "drumkits/TR808EmulationKit (ArtemioLabs): 808 kick, clap, hats, cowbell, "
                "toms; a 120 bpm electro pattern written here", "GPL-2+ (package copyright); drumkit.xml says GPL"),
    "oboe": _rendered("program 68 (Oboe); a melody after Amazing Grace (New Britain, public domain)"),
    "marimba": _rendered("program 12 (Marimba); melody: Twinkle, Twinkle, Little Star (traditional, public domain) "
                         "over a bass written here"),
    "trumpet4": _rendered("program 56 (Trumpet); a fourth phrase written here"),
    "violin4": _rendered("program 40 (Violin); a fourth phrase written here"),
    **{loop: _sonic_pi(loop) for loop in ("mika", "weirdo")},
}
APT_PACKAGES = ("sonic-pi-samples", "hydrogen-data", "fluidsynth", "fluid-soundfont-gm", "alsa-utils")

# Phrases as (midi note or None for a rest, beats). Minuet in G, BWV Anh. 114, bars 1-8.
MINUET = [(74, 1), (67, .5), (69, .5), (71, .5), (72, .5), (74, 1), (67, 1), (67, 1),
          (76, 1), (72, .5), (74, .5), (76, .5), (78, .5), (79, 1), (67, 1), (67, 1),
          (72, 1), (74, .5), (72, .5), (71, .5), (69, .5), (71, 1), (72, .5), (71, .5), (69, .5), (67, .5),
          (66, 1), (67, .5), (69, .5), (71, .5), (67, .5), (69, 3)]
MINUET_BASS = [(55, 3), (59, 3), (60, 3), (59, 3), (57, 3), (55, 3), (62, 3), (50, 3)]
TRUMPET = [(70, 1), (74, .5), (77, .5), (82, 2), (80, .5), (79, .5), (77, 1), (75, 1), (74, 2), (None, 1),
           (72, .75), (74, .25), (75, 1), (77, 1), (79, 1.5), (77, .5), (74, 1), (70, 2), (None, 1)]
VIOLIN = [(76, 2), (79, 1), (81, 1), (83, 3), (81, 1), (79, 1.5), (78, .5), (76, 2), (74, 1), (None, .5),
          (71, .5), (72, 1), (74, 1), (76, 4)]
# The held-out phrases. Ode to Joy (Beethoven, Symphony 9), in C; Greensleeves (traditional), in A minor.
ODE = [(64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1), (60, 1), (60, 1), (62, 1), (64, 1),
       (64, 1.5), (62, .5), (62, 2), (64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1),
       (60, 1), (60, 1), (62, 1), (64, 1), (62, 1.5), (60, .5), (60, 2)]
ODE_BASS = [(48, 4), (43, 4), (48, 4), (43, 2), (48, 2), (48, 4), (43, 4), (48, 4), (43, 2), (48, 2)]
GREENSLEEVES = [(69, 1), (72, 2), (74, 1), (76, 1.5), (77, .5), (76, 1), (74, 2), (71, 1), (67, 1.5), (69, .5),
                (71, 1), (72, 2), (69, 1), (69, 1.5), (68, .5), (69, 1), (71, 2), (68, 1), (64, 2), (69, 1),
                (72, 2), (74, 1), (76, 1.5), (77, .5), (76, 1), (74, 2), (71, 1), (67, 1.5), (69, .5), (71, 1),
                (72, 1.5), (71, .5), (69, 1), (68, 1.5), (66, .5), (68, 1), (69, 3)]
TRUMPET2 = [(67, .5), (72, .5), (76, .5), (79, 1.5), (76, .5), (79, 2), (None, .5), (77, .5), (76, .5), (74, .5),
            (72, 1), (74, 1), (76, 2), (None, 1), (72, .5), (76, .5), (79, .5), (84, 2), (81, 1), (79, 1), (77, 1),
            (76, 2), (None, 1)]
# The fresh phrases: Scarborough Fair (traditional) in D dorian, Frere Jacques (traditional) in C.
SCARBOROUGH = [(62, 2), (62, 1), (69, 2), (69, 1), (64, 1.5), (65, .5), (64, 1), (62, 3), (None, 1), (69, 1),
               (72, 2), (74, 1), (72, 2), (69, 1), (71, 1), (67, 1), (69, 1), (69, 3), (None, 2)]
SCARBOROUGH_BASS = [(50, 6), (48, 6), (45, 6), (50, 6)]
FRERE_JACQUES = [(60, 1), (62, 1), (64, 1), (60, 1)] * 2 + [(64, 1), (65, 1), (67, 2)] * 2 + \
    [(67, .5), (69, .5), (67, .5), (65, .5), (64, 1), (60, 1)] * 2 + [(60, 1), (55, 1), (60, 2)] * 2
TRUMPET3 = [(62, .5), (66, .5), (69, .5), (74, 1.5), (None, .5), (74, .5), (73, .5), (71, .5), (69, 1), (66, 1),
            (69, 2), (None, 1), (71, .5), (73, .5), (74, 1), (76, 1), (78, 1.5), (76, .5), (74, 2), (None, 1)]
VIOLIN3 = [(62, 1.5), (65, .5), (69, 2), (67, 1), (65, 1), (64, 2), (62, 1), (None, .5), (61, .5), (62, 1),
           (64, 1), (65, 1), (69, 1), (74, 3), (72, 1), (70, 2), (69, 2), (None, 1)]
# The unseen phrases: Amazing Grace (New Britain) in G, 3/4; Twinkle, Twinkle in C.
AMAZING_GRACE = [(62, 1), (67, 2), (71, .5), (67, .5), (71, 2), (69, 1), (67, 2), (64, 1), (62, 2), (62, 1),
                 (67, 2), (71, .5), (67, .5), (71, 2), (69, 1), (74, 5), (None, 1)]
TWINKLE = [(60, 1), (60, 1), (67, 1), (67, 1), (69, 1), (69, 1), (67, 2), (65, 1), (65, 1), (64, 1), (64, 1),
           (62, 1), (62, 1), (60, 2)] + [(67, 1), (67, 1), (65, 1), (65, 1), (64, 1), (64, 1), (62, 2)] * 2
TWINKLE_BASS = [(48, 4), (53, 2), (48, 2), (53, 2), (48, 2), (43, 2), (48, 2), (48, 2), (43, 2), (48, 2), (43, 2)]
TRUMPET4 = [(65, .5), (69, .5), (72, 1), (77, 1.5), (76, .5), (74, 1), (72, 1), (70, .5), (69, .5), (67, 1), (65, 2),
            (None, 1), (72, .5), (74, .5), (76, 1), (77, 1), (79, 2), (77, 1), (72, 2), (None, 1)]
VIOLIN4 = [(67, 1), (71, 1), (74, 2), (72, .5), (71, .5), (69, 1), (67, 2), (None, .5), (66, .5), (67, 1), (69, 1),
           (71, 1.5), (72, .5), (74, 1), (79, 3), (78, 1), (76, 2), (74, 2), (None, 1)]
VIOLIN2 = [(69, 2), (72, 1), (76, 1), (74, 2), (72, 1), (71, 1), (69, 3), (None, 1), (64, 1), (69, 1), (72, 1),
           (76, 1), (77, 2), (76, 1), (74, 1), (72, 4), (None, 1)]


def cache_dir() -> Path:
    return Path(os.environ.get("AUDIOSTYLE_DEVSET", Path.home() / ".cache" / "audiostyle" / "devset"))


def _missing() -> list[str]:
    need = {"sonic-pi-samples": SONIC_PI / "loop_amen.flac", "hydrogen-data": ROCK_KIT / "Kick-Med.wav",
            "fluid-soundfont-gm": SOUND_FONT, "alsa-utils": ALSA_SOUNDS / "Front_Center.wav"}
    missing = [pkg for pkg, path in need.items() if not path.exists()]
    if shutil.which("fluidsynth") is None:
        missing.append("fluidsynth")
    return missing


def _read(path: Path) -> np.ndarray:
    """Mono float64 at 44.1 kHz."""
    import librosa
    import soundfile

    x, sr = soundfile.read(str(path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    return librosa.resample(x, orig_sr=sr, target_sr=SR) if sr != SR else x


def _fit(x: np.ndarray, seconds: float = CLIP_SECONDS, tile: bool = True) -> np.ndarray:
    """Tile (loops) or pad to `seconds`, peak 0.8."""
    n = int(seconds * SR)
    if x.size < n:
        x = np.tile(x, n // x.size + 1) if tile else np.pad(x, (0, n - x.size))
    x = x[:n]
    return 0.8 * x / max(np.max(np.abs(x)), 1e-12)


def _midi(tracks: list[tuple[int, list]], bpm: float, path: Path, repeat: int) -> None:
    """One MIDI file, one channel per (program, phrase); each phrase repeated `repeat` times."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    for channel, (program, phrase) in enumerate(tracks):
        track = mido.MidiTrack()
        mid.tracks.append(track)
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
        track.append(mido.Message("program_change", program=program, channel=channel, time=0))
        wait = 0
        for note, beats in phrase * repeat:
            ticks = int(beats * 480)
            if note is None:
                wait += ticks
                continue
            track.append(mido.Message("note_on", note=note, velocity=90, channel=channel, time=wait))
            track.append(mido.Message("note_off", note=note, velocity=0, channel=channel, time=ticks))
            wait = 0
    mid.save(str(path))


def _render(tracks, bpm: float, repeat: int = 4) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "phrase.mid", Path(tmp) / "phrase.wav"
        _midi(tracks, bpm, mid, repeat)
        subprocess.run(["fluidsynth", "-ni", "-q", "-r", str(SR), "-g", "0.6", "-F", str(wav), str(SOUND_FONT),
                        str(mid)], check=True, capture_output=True)
        return _read(wav)


def _speech() -> np.ndarray:
    names = ["Front_Left", "Front_Center", "Front_Right", "Side_Left", "Side_Right", "Rear_Left", "Rear_Center",
             "Rear_Right"]
    gap = np.zeros(int(0.25 * SR))
    parts = []
    for name in names:
        x = _read(ALSA_SOUNDS / f"{name}.wav")
        loud = np.flatnonzero(np.abs(x) > 0.02 * np.max(np.abs(x)))  # trim the recordings' silences
        parts += [x[max(0, loud[0] - 2000):loud[-1] + 2000], gap]
    return _fit(np.concatenate(parts))  # ~11 s of voice, tiled to the clip length


def _sequence(hits: dict[str, np.ndarray], step: float, names_at) -> np.ndarray:
    """A clip of drum hits on a grid of `step` seconds: names_at(i) names the hits that sound at step i."""
    n = int(CLIP_SECONDS * SR)
    out = np.zeros(n + 4 * SR)
    for i in range(int(CLIP_SECONDS / step) + 1):
        start = int(i * step * SR)
        for name in names_at(i):
            s = hits[name]
            out[start:start + s.size] += s[:out.size - start]
    return _fit(out[:n])


def _rock(bpm: float = 120.0) -> np.ndarray:
    """Kick on 1 and 3 (and the and of 3), snare on 2 and 4, eighth hats, a crash every 4 bars."""
    hits = {k: _read(ROCK_KIT / f"{k}.wav") for k in ("Kick-Med", "Snare-Med", "HatClosed-Med", "HatClosed-Soft",
                                                       "Crash-Soft")}

    def names_at(i: int) -> list[str]:  # i counts eighth notes
        names = ["HatClosed-Med" if i % 2 == 0 else "HatClosed-Soft"]
        if i % 8 in (0, 4, 5):
            names.append("Kick-Med")
        if i % 8 in (2, 6):
            names.append("Snare-Med")
        if i % 32 == 0:
            names.append("Crash-Soft")
        return names

    return _sequence(hits, 60 / bpm / 2, names_at)


def _tr808(bpm: float = 90.0) -> np.ndarray:
    """Kick on 1, on the and of 2 and on 3; snare + clap on 2 and 4; closed hats on the eighths, an open hat
    on the and of 4."""
    hits = {k: _read(TR808_KIT / f"808_{k}.flac") for k in ("Kick_Long", "Snare_1", "Clap", "Hat_Closed", "Hat_Open")}

    def names_at(i: int) -> list[str]:  # i counts sixteenth notes
        step = i % 16
        names = ["Hat_Open" if step == 14 else "Hat_Closed"] if step % 2 == 0 else []
        if step in (0, 6, 8):
            names.append("Kick_Long")
        if step in (4, 12):
            names += ["Snare_1", "Clap"]
        return names

    return _sequence(hits, 60 / bpm / 4, names_at)


def _beat(kit: Path, suffix: str, bpm: float, per_beat: int, cycle: int, pattern: dict[str, range | tuple]) -> np.ndarray:
    """A clip of one kit's samples (file stem → the steps of each ``cycle`` it sounds on, ``per_beat`` steps a beat);
    at a step the samples sound in the pattern's order."""
    hits = {name: _read(kit / f"{name}{suffix}") for name in pattern}
    steps = {name: set(at) for name, at in pattern.items()}
    return _sequence(hits, 60 / bpm / per_beat, lambda i: [name for name in pattern if i % cycle in steps[name]])


def _funk() -> np.ndarray:
    """100 bpm: sixteenth hats (an open one on the last), kick on 1, the a of 1 and the and of 3, snare on 2 and 4
    with ghost notes between."""
    return _beat(ROCK_KIT, ".wav", 100.0, 4, 16, {
        "HatOpen-Soft": (14,), "HatClosed-Soft": (0, 2, 4, 6, 8, 10, 12), "HatClosed-Softest": range(1, 16, 2),
        "Kick-Med": (0, 3, 10), "Snare-Med": (4, 12), "Snare-Softest": (7, 9, 15)})


def _ride() -> np.ndarray:
    """140 bpm: ride on every eighth, kick on 1 and the and of 2, side stick and pedal hat on 2 and 4."""
    return _beat(ROCK_KIT, ".wav", 140.0, 2, 8, {
        "Ride-Med": (0, 2, 4, 6), "Ride-Soft": (1, 3, 5, 7), "Kick-Soft": (0, 3), "SideStick-Med": (2, 6),
        "HatPedal-Med": (2, 6)})


def _electro() -> np.ndarray:
    """120 bpm: kick on 1, the a of 1, 3 and the a of 3; clap on 2 and 4; closed hats on the off-sixteenths, a
    cowbell on the and of 4, toms in the last bar of four."""
    bars = lambda *steps: tuple(16 * bar + step for bar in range(4) for step in steps)  # noqa: E731
    return _beat(TR808_KIT, ".flac", 120.0, 4, 64, {
        "808_Hat_Closed": bars(*range(1, 16, 2)), "808_Kick_Short": bars(0, 3, 8, 11), "808_Clap": bars(4, 12),
        "808_Cowbell": bars(14), "808_Tom_Hi": (57,), "808_Tom_Low": (61,)})


def _loop(name: str) -> np.ndarray:
    return _fit(_read(SONIC_PI / f"loop_{name}.flac"))


BUILDERS = {
    "speech": _speech,
    "piano": lambda: _fit(_render([(0, MINUET), (0, MINUET_BASS)], bpm=132), tile=False),
    "trumpet": lambda: _fit(_render([(56, TRUMPET)], bpm=110)),
    "violin": lambda: _fit(_render([(40, VIOLIN)], bpm=84)),
    "rock": _rock,
    "amen": lambda: _loop("amen"),
    "breakbeat": lambda: _loop("breakbeat"),
    "tabla": lambda: _loop("tabla"),
    "compus": lambda: _loop("compus"),
    "guitar": lambda: _fit(_render([(24, ODE), (24, ODE_BASS)], bpm=120), tile=False),
    "flute": lambda: _fit(_render([(73, GREENSLEEVES)], bpm=150), tile=False),
    "trumpet2": lambda: _fit(_render([(56, TRUMPET2)], bpm=100)),
    "violin2": lambda: _fit(_render([(40, VIOLIN2)], bpm=72)),
    "electric": lambda: _loop("electric"),
    "amen_full": lambda: _loop("amen_full"),
    "safari": lambda: _loop("safari"),
    "garzul": lambda: _loop("garzul"),
    "perc2": lambda: _loop("perc2"),
    "tr808": _tr808,
    "harp": lambda: _fit(_render([(46, SCARBOROUGH), (46, SCARBOROUGH_BASS)], bpm=120), tile=False),
    "clarinet": lambda: _fit(_render([(71, FRERE_JACQUES)], bpm=112), tile=False),
    "trumpet3": lambda: _fit(_render([(56, TRUMPET3)], bpm=96)),
    "violin3": lambda: _fit(_render([(40, VIOLIN3)], bpm=66)),
    **{loop: (lambda loop=loop: _loop(loop)) for loop in ("perc1", "industrial", "mehackit1", "mehackit2")},
    "funk": _funk,
    "ride": _ride,
    "electro": _electro,
    "oboe": lambda: _fit(_render([(68, AMAZING_GRACE)], bpm=90), tile=False),
    "marimba": lambda: _fit(_render([(12, TWINKLE), (12, TWINKLE_BASS)], bpm=116), tile=False),
    "trumpet4": lambda: _fit(_render([(56, TRUMPET4)], bpm=104)),
    "violin4": lambda: _fit(_render([(40, VIOLIN4)], bpm=76)),
    **{loop: (lambda loop=loop: _loop(loop)) for loop in ("mika", "weirdo")},
}


def build(target: Path | None = None, quiet: bool = False) -> Path:
    """Make every clip (once; a complete set with this VERSION is reused) and return the folder."""
    target = Path(target) if target is not None else cache_dir()
    manifest = target / "manifest.json"
    current = manifest.exists() and json.loads(manifest.read_text()).get("version") == VERSION
    if current and all((target / f"{name}.wav").exists() for name in BUILDERS):
        return target
    missing = _missing()
    if missing:
        raise RuntimeError(f"the development set needs Debian packages {', '.join(missing)}; install them with "
                           f"apt-get install {' '.join(APT_PACKAGES)} (and pip install mido)")
    from scipy.io import wavfile

    target.mkdir(parents=True, exist_ok=True)
    for name, make in BUILDERS.items():
        if current and (target / f"{name}.wav").exists():
            continue  # a set of this version gains the clips added since, and keeps the ones it has bit for bit
        # written aside and renamed, so that a killed build or a second process never finds half a clip
        partial = target / f"{name}.wav.partial"
        wavfile.write(str(partial), SR, make().astype(np.float32))
        os.replace(partial, target / f"{name}.wav")
        if not quiet:
            print(f"  {target / name}.wav", flush=True)
    lines = ["# Licences of the development set", "",
             f"Built by bench/devset.py (version {VERSION}) from the Debian packages {', '.join(APT_PACKAGES)}.", "",
             "| clip | package | source | licence |", "|---|---|---|---|"]
    lines += [f"| {name} | {pkg} | {src} | {lic} |" for name, (pkg, src, lic) in LICENCES.items()]
    (target / "LICENSES.md").write_text("\n".join(lines) + "\n")
    manifest.write_text(json.dumps({"version": VERSION, "sample_rate": SR, "clips": sorted(BUILDERS),
                                    "pairs": ["+".join(p) for p in PAIRS],
                                    "held_out_pairs": ["+".join(p) for p in HELD_OUT_PAIRS],
                                    "fresh_pairs": ["+".join(p) for p in FRESH_PAIRS],
                                    "unseen_pairs": ["+".join(p) for p in UNSEEN_PAIRS]}, indent=1))
    return target


def make(name: str, seconds: float, seed: int = 0, folder: Path | None = None) -> np.ndarray:
    """`seconds` of clip `name` (seed 1: the next excerpt, for the "another excerpt of the style" row)."""
    from scipy.io import wavfile

    folder = build(folder, quiet=True)
    sr, x = wavfile.read(str(folder / f"{name}.wav"))
    start, stop = excerpt_range(x.size, seconds, seed)
    return x[start:stop].astype(np.float64)


def excerpt_range(clip_frames: int, seconds: float, seed: int) -> tuple[int, int]:
    """The frames [start, stop) that make() takes: the seed-th excerpt of this length, wrapping at the end."""
    n = int(round(seconds * SR))
    start = (seed * n) % max(1, clip_frames - n + 1)
    return start, start + n


def clip_frames(name: str, folder: Path | None = None) -> int:
    import soundfile

    return soundfile.info(str(build(folder, quiet=True) / f"{name}.wav")).frames


def main(argv: list[str] | None = None) -> Path:
    import argparse

    parser = argparse.ArgumentParser(description="Build the quality bench's development set of real recordings.")
    parser.add_argument("cache_dir", nargs="?", type=Path, default=None,
                        help="where the clips go (default: $AUDIOSTYLE_DEVSET or ~/.cache/audiostyle/devset)")
    folder = build(parser.parse_args(argv).cache_dir)
    print(folder)
    return folder


if __name__ == "__main__":
    main()
