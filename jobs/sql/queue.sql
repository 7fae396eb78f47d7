-- The job queue's own statements (Postgres), loaded by name by jobs/queries.py.
-- Each starts with "-- name: <name>" and takes named parameters (%(name)s). Everything
-- else the queue does goes through the ORM and runs on SQLite too.

-- name: mark_claimed
-- Write a claim on every chosen row in one statement: parallel arrays of id, handle and token
-- hash, so the statement's text is the same whatever the batch size.
UPDATE jobs_job AS j
SET status = %(status)s, claimed_at = %(now)s, scheduler = %(scheduler)s,
    backend = %(backend)s, wait_reason = '', handle = v.handle, runner_token_hash = v.hash
FROM unnest(%(ids)s::bigint[], %(handles)s::text[], %(hashes)s::text[]) AS v(id, handle, hash)
WHERE j.id = v.id
RETURNING j.id, j.experiment_id, j.owner_id;

-- name: insert_grid
-- Postgres expands the grid itself: one row per combination (in order) and repeat, with no
-- model instance per job.
INSERT INTO jobs_job (experiment_id, owner_id, priority, "index", "repeat", parameters,
    status, attempt, max_attempts, not_before, created_at, scheduler, backend, handle,
    runner_token_hash, failure_reason, error, wait_reason)
SELECT %(experiment_id)s, %(owner_id)s, %(priority)s, e.ord - 1, r.rep, e.value,
    %(status)s, 1, %(max_attempts)s, %(now)s, %(now)s, '', %(backend)s, '', '', '', '', ''
FROM jsonb_array_elements(%(combinations)s::jsonb) WITH ORDINALITY AS e(value, ord)
CROSS JOIN generate_series(0, %(last_repeat)s) AS r(rep)
ORDER BY e.ord, r.rep;

-- name: notify_new_jobs
-- Wakes idle schedulers; Postgres delivers it once, when the transaction commits.
NOTIFY petri_jobs;

-- name: listen_new_jobs
LISTEN petri_jobs;
