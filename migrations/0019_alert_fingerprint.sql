-- Alerts from Alertmanager (POST /api/v1/hooks/alertmanager) are hotlist entries keyed by their
-- fingerprint: a repeat updates the open entry, a resolution resolves it. At most one open entry per
-- source and fingerprint.
ALTER TABLE errors ADD COLUMN fingerprint TEXT;
CREATE UNIQUE INDEX idx_errors_open_fingerprint ON errors(source, fingerprint)
    WHERE resolved = 0 AND fingerprint IS NOT NULL;
