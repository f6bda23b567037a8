-- Model version retention (storage/records/models.py): a pinned version is kept however
-- many newer ones are registered (`armillary models pin NAME VERSION`).
ALTER TABLE models ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
