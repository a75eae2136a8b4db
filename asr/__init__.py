"""asr: train CTC speech recognisers from the command line.

The pipeline, one module per step: audio -> features -> model -> (CTC loss in
train) -> decoding -> metrics. See README.md for the tour.
"""

__version__ = "0.1.0"
