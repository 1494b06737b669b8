"""Benchmarks: `python -m bench --help`. They print figures; tests never time anything."""
