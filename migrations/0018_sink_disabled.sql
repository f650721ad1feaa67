-- Event sinks a receiver told to go away (410 Gone): nothing is sent to one until an admin enables it
-- again (POST /api/v1/admin/sinks/{name}/enable); its deliveries wait meanwhile, none is lost.
CREATE TABLE sink_disabled (
    sink   TEXT PRIMARY KEY,
    at     TEXT NOT NULL,
    reason TEXT NOT NULL
);
