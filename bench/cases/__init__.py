"""The benchmark's cases, one module each; every case adds rows to the run's report."""
