-- Every list page is read from an index in its own order (newest first, keyset on (time, id)), never
-- sorted whole: one index per filter the API offers, each ending in the page order. The single-column
-- indexes they replace served the same lookups and are dropped, so the planner cannot pick one and sort.
-- (queries::plans' test fails on any list query that needs a temporary B-tree.)

DROP INDEX idx_projects_created_at;
CREATE INDEX idx_projects_page ON projects(created_at, id);
CREATE INDEX idx_projects_status_page ON projects(status, created_at, id);

DROP INDEX idx_tasks_created_at;
DROP INDEX idx_tasks_project_id;
DROP INDEX idx_tasks_status;
CREATE INDEX idx_tasks_page ON tasks(created_at, id);
CREATE INDEX idx_tasks_project_page ON tasks(project_id, created_at, id);
CREATE INDEX idx_tasks_status_page ON tasks(status, created_at, id);
CREATE INDEX idx_tasks_assignee_page ON tasks(assignee, created_at, id);

DROP INDEX idx_approvals_status;
CREATE INDEX idx_approvals_page ON approvals(requested_at, id);
CREATE INDEX idx_approvals_status_page ON approvals(status, requested_at, id);
CREATE INDEX idx_approvals_item_type_page ON approvals(item_type, requested_at, id);

DROP INDEX idx_runs_created_at;
DROP INDEX idx_runs_task_id;
DROP INDEX idx_runs_status;
CREATE INDEX idx_runs_page ON runs(created_at, id);
CREATE INDEX idx_runs_task_page ON runs(task_id, created_at, id);
CREATE INDEX idx_runs_status_page ON runs(status, created_at, id);

DROP INDEX idx_errors_occurred_at;
DROP INDEX idx_errors_resolved_severity;
CREATE INDEX idx_errors_page ON errors(occurred_at, id);
CREATE INDEX idx_errors_resolved_page ON errors(resolved, occurred_at, id);
CREATE INDEX idx_errors_severity_page ON errors(severity, occurred_at, id);
CREATE INDEX idx_errors_resolved_severity_page ON errors(resolved, severity, occurred_at, id);

-- The audit log pages by its id (commit order); an index whose columns a filter binds is already in id
-- order (SQLite appends the rowid), so each filter needs only its own columns.
CREATE INDEX idx_events_aggregate_type ON events(aggregate_type);
CREATE INDEX idx_events_aggregate_id ON events(aggregate_id);
CREATE INDEX idx_events_type ON events(type);
CREATE INDEX idx_events_created_at ON events(created_at);
