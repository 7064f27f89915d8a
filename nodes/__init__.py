"""Built-in node kinds, one module each. Registered explicitly (see audiostyle_engine.registry)."""
from .feature_style import FeatureStyle
from .fx import Fx
from .istft import Istft
from .layer import Layer
from .load import Load
from .match import Match
from .mix import Mix
from .mono import Mono
from .morph import Morph
from .normalize import Normalize
from .resample import Resample
from .stft import Stft
from .style_transfer import StyleTransfer
from .trim import Trim
from .write import Write

NODE_CLASSES = (Load, Resample, Mono, Trim, Normalize, Stft, StyleTransfer, FeatureStyle, Istft, Mix, Layer, Match, Morph, Fx, Write)
