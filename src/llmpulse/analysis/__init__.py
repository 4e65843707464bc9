"""Pure statistics for segment analysis, fairness and version comparison.

Stage ④ of the flow (ingest → store → query → **analysis** → monitors → alerts). Does no
I/O: it may import only `llmpulse.domain`, numpy and scipy (import-linter contract
"Analysis is pure"). Inputs are per-slice aggregates (counts, sums, sums of squares) that the
store computes in SQL, plus bounded raw samples where a distribution test needs them.
Every formula cites its section of METHODS.md.

Entry points:

- `segments.compare_slices`, `segments.SliceStats`, `segments.SliceTotals`,
  `segments.SliceResult` — each slice against its complement (§4.1-4.8).
- `discovery.discover_slices` — SliceFinder-style worst-slice discovery (§4.8).
- `fairness.fairness_report` → `fairness.FairnessReport` (§4.9).
- `comparison.compare_versions` → `comparison.ComparisonReport` (canary, §4.2-4.5).
- Building blocks: `proportions` (§1.9, §4.2), `means` (§4.3, §4.8), `ranks` (§4.4),
  `percentiles` (§1.10, §4.5), `multiple` (§4.6), `impact` (§4.7), `power`.
"""
