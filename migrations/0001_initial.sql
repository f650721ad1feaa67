-- Schema v1: the records of the design documents (000, 001), with CHECK constraints for every enum.
-- Timestamps are RFC 3339 UTC text with milliseconds, so they sort as text.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    description TEXT,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    title       TEXT NOT NULL CHECK (length(trim(title)) > 0),
    description TEXT,
    status      TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'blocked', 'done')),
    assignee    TEXT NOT NULL DEFAULT 'User',
    priority    INTEGER NOT NULL DEFAULT 0,
    -- argv as a JSON array of strings; NULL when the task runs nothing
    command     TEXT CHECK (command IS NULL OR (json_valid(command) AND json_type(command) = 'array')),
    cwd         TEXT,
    timeout_s   INTEGER CHECK (timeout_s IS NULL OR timeout_s > 0),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    approved_at TEXT,
    approved_by TEXT,
    deleted_at  TEXT
);

CREATE TABLE approvals (
    id             TEXT PRIMARY KEY,
    item_type      TEXT NOT NULL CHECK (item_type IN ('task', 'project', 'config', 'deployment')),
    item_id        TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'execute')),
    summary        TEXT NOT NULL,
    -- the command approving applies, as JSON; payload_hash pins it
    payload        TEXT NOT NULL CHECK (json_valid(payload)),
    payload_hash   TEXT NOT NULL,
    -- the target's version when requested (NULL for creations); approving a changed target is refused
    target_version INTEGER,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at   TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    reviewed_at    TEXT,
    reviewed_by    TEXT,
    CHECK ((status = 'pending') = (reviewed_at IS NULL))
);

CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES tasks(id),
    approval_id  TEXT REFERENCES approvals(id),
    -- argv as a JSON array, exactly as approved
    command      TEXT NOT NULL CHECK (json_valid(command) AND json_type(command) = 'array'),
    cwd          TEXT,
    timeout_s    INTEGER CHECK (timeout_s IS NULL OR timeout_s > 0),
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'success', 'failed', 'cancelled', 'timed_out')),
    exit_code    INTEGER,
    output       TEXT,
    error_log    TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    completed_at TEXT
);

-- The Errors_Hotlist.
CREATE TABLE errors (
    id          TEXT PRIMARY KEY,
    task_id     TEXT REFERENCES tasks(id),
    error       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    resolved    INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
    resolution  TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    source      TEXT NOT NULL
);

-- Audit and domain events: one row per applied command, written in the command's transaction.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    type           TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    actor          TEXT NOT NULL,
    payload        TEXT NOT NULL CHECK (json_valid(payload)),
    created_at     TEXT NOT NULL,
    delivered_at   TEXT
);

CREATE INDEX idx_projects_created_at ON projects(created_at);
CREATE INDEX idx_tasks_project_id ON tasks(project_id);
CREATE INDEX idx_tasks_status ON tasks(status);
CREATE INDEX idx_approvals_status ON approvals(status, requested_at);
CREATE INDEX idx_runs_task_id ON runs(task_id);
CREATE INDEX idx_runs_status ON runs(status);
CREATE INDEX idx_errors_resolved_severity ON errors(resolved, severity);
CREATE INDEX idx_events_aggregate ON events(aggregate_type, aggregate_id);
CREATE INDEX idx_events_actor ON events(actor);
CREATE INDEX idx_runs_created_at ON runs(created_at);
CREATE INDEX idx_errors_occurred_at ON errors(occurred_at);
CREATE INDEX idx_tasks_created_at ON tasks(created_at);
CREATE INDEX idx_events_undelivered ON events(id) WHERE delivered_at IS NULL;
