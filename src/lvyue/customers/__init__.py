"""Customer profiles linked across shops and platforms."""
