-- Document OCR: the lease of a synchronous upload (a document without a job), renewed
-- by the replica that OCRs it within the request; a document still "processing" past
-- its lease is failed by any live replica (its replica stopped). NULL: not leased (async
-- documents, whose job holds a lease on the task queue instead; finished documents).
ALTER TABLE ocr_documents ADD COLUMN lease_until DOUBLE PRECISION;
-- Synchronous documents left "processing" before this migration: their lease is over.
UPDATE ocr_documents SET lease_until = updated_at WHERE status = 'processing' AND job_id IS NULL;
CREATE INDEX ocr_documents_lease ON ocr_documents (status, lease_until);
