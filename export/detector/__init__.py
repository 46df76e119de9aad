"""The face-swap detector's training side: data (clips, crops, self-blended faces), the network, its
training and its ONNX export. ``swapcam train-detector`` runs it; ``swapcam verify`` runs the result."""
