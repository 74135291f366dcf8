"""Developer scripts by job, each a thin wrapper over the package; not shipped.

Run them from the repository root as modules, e.g. ``python -m scripts.bench.ask --help``:
``bench/`` (speed and load), ``eval/`` (quality), ``train/`` (the reader and its data),
``ops/`` (crash test, optional models). ``common`` holds what they share; ``data/`` our own
question files.
"""
