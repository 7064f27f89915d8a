"""audiostyle's graph engine: graph model, validation, execution, devices, the batch and watch modes and
reports. Knows no concrete node; run.py, its composition root, is the one module that imports ``nodes``."""
__version__ = "0.1.0"
