"""Service level objectives end to end: specs, SLIs from the store, status, alerts, reports.

Stage ⑤ of the flow, beside monitors: it reads good/valid counts through the event store's
one grouped query (`store.slo_api`), judges them with the pure SLO arithmetic of
`analysis.slo` and produces `alerts.model.Alert` objects for the alert pipeline. It may import
`alerts`, `monitors`, `query`, `store` (protocols and logical queries only), `analysis` and
`domain`; `server`, `ui` and `cli` sit on top of it.

Entry points: `SloSpec` (our ``kind: SLO``), `openslo` (OpenSLO ``openslo/v1``), `SloService`
(CRUD, apply/export, status, reports) and `evaluate_slos` (one scheduler cycle).
"""
