"""swapcam training and export (PyTorch lives here; it may import swapcam.realtime, never the reverse)."""
