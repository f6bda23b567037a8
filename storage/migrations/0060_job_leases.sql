-- The job system (storage/jobs): what a worker needs to run a job, again if need be
-- (payload: internal, never shown), which delivery of the job's queue task holds it
-- (task_id, worker; lease_until: renewed by the worker's heartbeat), how many times a
-- worker took it (attempts), and the last thing the reaper did to it, with its reason
-- (notice). Jobs left queued or running before this migration have no payload and no
-- lease: the reaper fails them as orphaned.
ALTER TABLE jobs ADD COLUMN payload TEXT;
ALTER TABLE jobs ADD COLUMN task_id TEXT;
ALTER TABLE jobs ADD COLUMN worker TEXT;
ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN notice TEXT;
CREATE INDEX jobs_status_kind ON jobs (status, kind);
CREATE INDEX jobs_owner_status ON jobs (owner, status);
-- A job's input that its handler reads on any worker (an analytics import's upload),
-- deleted when the job ends. BYTEA: see 0040_ocr_blobs.sql.
CREATE TABLE job_blobs (
    job_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data BYTEA NOT NULL,
    bytes BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, name)
);
