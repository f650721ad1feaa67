-- The hotlist sorted by severity (critical first), then newest first, read from an index in page order.
-- SQLite uses an index on an expression only for a query that repeats the expression exactly:
-- `queries::hotlist::SEVERITY_RANK` is this text.
CREATE INDEX idx_errors_rank_page ON errors(
    (CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END), occurred_at, id);
CREATE INDEX idx_errors_resolved_rank_page ON errors(resolved,
    (CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END), occurred_at, id);
