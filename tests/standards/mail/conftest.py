"""Makes the shared DNS/SMTP lab (tests/standards/dnsinfra.py) importable as ``dnsinfra``."""

import sys
from pathlib import Path

_here = str(Path(__file__).resolve().parents[1])
if _here not in sys.path:
    sys.path.insert(0, _here)
