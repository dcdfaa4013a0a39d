import sys
from pathlib import Path

# Run against the sources of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
