"""Anomaly detectors for operational time series (METHODS.md §1.1-§1.9), as a registry.

Part of stage ④ (`analysis`): pure functions over numpy arrays, no I/O; may import only
`llmpulse.domain`, numpy and scipy. Each detector family lives in its own module and
registers a `DetectorInfo` in `registry.py`; YAML and REST name detectors by `info.name`.

Entry points:

- `registry.REGISTRY`, `registry.build(name, params)`, `registry.DEFAULT_DETECTOR`.
- `base.Series` (one metric series: values, or bad/total counts for proportions, with bucket
  start times), `base.Baseline`, `base.Verdict`, `base.Detector`.
- Every detector: `fit(baseline: Series) -> Baseline`, then
  `score(baseline, window: Series) -> Verdict` (value, baseline, lower/upper bound, score,
  breached or insufficient data).
"""
