-- Document OCR: the bytes every replica must be able to read, in the shared Database
-- instead of one replica's disk: an async upload until its job is done ("upload"), page
-- images ("page-0001.png") and the searchable PDF ("searchable.pdf").
-- BYTEA is PostgreSQL's binary type; SQLite stores the bytes as a BLOB under any type name.
CREATE TABLE ocr_blobs (
    document_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data BYTEA NOT NULL,
    bytes BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (document_id, name)
);
