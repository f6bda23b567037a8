-- Document OCR: one row per uploaded document (its pages' text lives in the Warehouse).
CREATE TABLE ocr_documents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    doc_type TEXT NOT NULL,
    pages INTEGER NOT NULL,
    status TEXT NOT NULL,
    job_id TEXT,
    options TEXT NOT NULL,
    mean_confidence DOUBLE PRECISION,
    fields TEXT,
    timings TEXT,
    error TEXT,
    has_pdf INTEGER NOT NULL DEFAULT 0,
    page_images INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX ocr_documents_owner ON ocr_documents (owner, created_at);
CREATE INDEX ocr_documents_hash ON ocr_documents (content_hash);
