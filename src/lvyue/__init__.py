"""lvyue (履约): order management and warehouse system for multi-channel merchants."""

__version__ = "0.1.0"
