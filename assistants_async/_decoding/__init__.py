"""Decoding, in one place: the cattrs converter (the reference, which names a failing
field) and the generated straight-line decoders (the hot path), sharing one table of
type rules (``rules.py``) so the two cannot disagree on what a JSON value may be."""
