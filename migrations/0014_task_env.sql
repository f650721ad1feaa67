-- A task's environment (issue 25): variables its command gets at start, each a text or a secret by name
-- (`{"secret": "pg"}`), as a JSON object; never a secret's value, which lives outside the database. A run
-- keeps the environment it was requested (and approved) with, like its argv.
ALTER TABLE tasks ADD COLUMN env TEXT CHECK (env IS NULL OR json_type(env) = 'object');
ALTER TABLE runs ADD COLUMN env TEXT CHECK (env IS NULL OR json_type(env) = 'object');
