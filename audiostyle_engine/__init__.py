"""audiostyle's graph engine: graph model, validation, execution, devices. Knows no concrete node."""
__version__ = "0.1.0"
