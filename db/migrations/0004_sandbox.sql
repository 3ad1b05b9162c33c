-- How each runner confines its commands, as it found out at start-up (GET /api/v1/status shows
-- it): who commands run as, which control groups limit them (or why none can), and whether they
-- have a network.

ALTER TABLE runners ADD COLUMN sandbox_user TEXT;  -- "uid 65533 (tools.sandbox_uid; the runner is root)"
ALTER TABLE runners ADD COLUMN cgroups TEXT;       -- "cgroup v1 pids, memory, cpu; cgroup v2 (kill only)"
ALTER TABLE runners ADD COLUMN network TEXT;       -- tools.network: none | host
