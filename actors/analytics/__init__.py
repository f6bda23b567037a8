"""Marketing analytics (plain Python, no Ray). Public entry points, by module:

- ingest: `parse_transactions`, `import_transactions(wh, source, table=...) -> ImportReport`
- rfm: `compute_rfm(wh, as_of, table)` (ClickHouse SQL), `compute_rfm_pandas`
- segments: `segment_customers(rfm, k_range, seed)`, `segment_profiles`
- clv.value: `CLVModel().fit(tx, calibration_end).predict(ids, horizon, discount_rate)`
- clv.propensity: `PropensityModel(horizon_days).fit(tx)`, `.predict(tx, as_of, ids)`
- uplift: `select_uplift_model`, `targeting_list`; qini: `qini_curve`, `bootstrap_qini`
- mmm: `MediaMixModel().fit(...)`; allocator: `allocate_budget(model, current, total, bounds)`
- persistence: `save_model`, `load_model`, `latest_version`
- report.engine: `generate_report(ReportData, ReportConfig) -> (html, pdf, kpis)`
- errors: `AnalyticsError` and its subclasses (all `ValueError`: map to HTTP 4xx)

Modules are imported explicitly; this package does no work on import.
"""
