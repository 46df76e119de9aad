"""``swapcam train``'s training, room by room.

- :mod:`.loop`: a run (:class:`~.loop.TrainRun`) set up from its start point and facesets, and the
  loop that trains it; :func:`~.loop.train` is the entry.
- :mod:`.start`: where the weights start: a checkpoint resumed, a base fine-tuned, or random weights.
- :mod:`.trainer`: the models, optimizers and one training step; the learning-rate schedule.
- :mod:`.checkpoint`: RUN_DIR/checkpoint.pt written and read; the model and card it re-creates.
- :mod:`.log`: what rank 0 writes as it trains: losses.csv, TensorBoard, previews/, holdout.csv.
- :mod:`.stop`: Ctrl-C and SIGTERM as a flag the loop checks; the iteration and time budgets.

``python -m swapcam.export.train`` (:mod:`swapcam.export.train`) runs ``swapcam train`` under torchrun.
"""
