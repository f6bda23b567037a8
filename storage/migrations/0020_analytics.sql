-- Marketing analytics: generated reports (files under data_dir/reports) and report schedules.
CREATE TABLE analytics_reports (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    source_table TEXT NOT NULL,
    config TEXT NOT NULL,
    kpis TEXT NOT NULL,
    html_path TEXT NOT NULL,
    pdf_path TEXT NOT NULL,
    html_bytes BIGINT NOT NULL,
    pdf_bytes BIGINT NOT NULL,
    job_id TEXT,
    schedule_id TEXT,
    seconds DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX analytics_reports_created ON analytics_reports (created_at);

CREATE TABLE analytics_schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    source_table TEXT NOT NULL,
    config TEXT NOT NULL,
    interval_s DOUBLE PRECISION NOT NULL,
    next_run_at DOUBLE PRECISION NOT NULL,
    last_run_at DOUBLE PRECISION,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX analytics_schedules_due ON analytics_schedules (enabled, next_run_at);
