"""Put the repository root on sys.path so that tests import `asr`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
