"""MySpinBot's benchmark: `python -m bench` (or `make bench`); see docs/performance.md."""
