"""swapcam live: capture → detect → align → swap → colour → mask + blend → output. Never imports torch."""

__version__ = "0.1.0"
