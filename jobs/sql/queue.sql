-- The job queue's own statements (Postgres), loaded by name by jobs/queries.py.
-- Each starts with "-- name: <name>" and takes named parameters (%(name)s). Everything
-- else the queue does goes through the ORM and runs on SQLite too.

-- name: due_owners
-- The users with a due waiting job this scheduler may take. A skip scan of the waiting index
-- finds each user with waiting jobs in one probe, then one probe per user finds a due one:
-- the cost follows the number of users waiting, not the length of the queue.
WITH RECURSIVE waiting(owner_id) AS (
    (SELECT owner_id FROM jobs_job WHERE status = %(waiting)s ORDER BY owner_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.owner_id FROM jobs_job AS q
            WHERE q.status = %(waiting)s AND q.owner_id > w.owner_id
            ORDER BY q.owner_id LIMIT 1)
    FROM waiting AS w
    WHERE w.owner_id IS NOT NULL
)
SELECT w.owner_id
FROM waiting AS w
CROSS JOIN LATERAL (
    SELECT 1 FROM jobs_job AS q
    WHERE q.owner_id = w.owner_id AND q.status = %(waiting)s AND q.not_before <= %(now)s
        AND (q.backend = %(backend)s OR (%(takes_default)s AND q.backend = ''))
    LIMIT 1
) AS due
ORDER BY w.owner_id;

-- name: held_jobs
-- How many jobs each of these users holds on a backend (or on all, for ''): one count per user
-- down the active index, with no sort or hash of the rows, since every tick asks.
SELECT o.owner_id, (
    SELECT count(*) FROM jobs_job AS q
    WHERE q.owner_id = o.owner_id AND q.status = ANY(%(active)s::text[])
        AND (%(backend)s = '' OR q.backend = %(backend)s)
) AS held
FROM unnest(%(owners)s::int[]) AS o(owner_id);

-- name: lock_waiting
-- Every user's next due waiting rows, in claim order (priority, then age), each user's up to
-- their allowance: one statement for all users of a claim. Rows another claim holds are
-- skipped, never waited for. A scheduler takes the jobs bound to its backend and, when it
-- runs the installation's default backend, those bound to none.
SELECT j.id, o.owner_id, j.priority, j.attempt, j.experiment_id, j.wait_reason
FROM unnest(%(owners)s::int[], %(allowances)s::int[]) AS o(owner_id, allowance)
CROSS JOIN LATERAL (
    SELECT q.id, q.priority, q.attempt, q.experiment_id, q.wait_reason
    FROM jobs_job AS q
    WHERE q.owner_id = o.owner_id AND q.status = %(waiting)s AND q.not_before <= %(now)s
        AND (q.backend = %(backend)s OR (%(takes_default)s AND q.backend = ''))
    ORDER BY q.priority DESC, q.id
    LIMIT o.allowance
    FOR UPDATE SKIP LOCKED
) AS j
ORDER BY o.owner_id, j.priority DESC, j.id;

-- name: mark_claimed
-- Write a claim on every chosen row in one statement: parallel arrays of id, handle and token
-- hash, so the statement's text is the same whatever the batch size. The "= ANY" lets the
-- planner fetch the rows by primary key; joined on the arrays alone it hashes the whole table.
UPDATE jobs_job AS j
SET status = %(status)s, claimed_at = %(now)s, scheduler = %(scheduler)s,
    backend = %(backend)s, wait_reason = '', handle = v.handle, runner_token_hash = v.hash
FROM unnest(%(ids)s::bigint[], %(handles)s::text[], %(hashes)s::text[]) AS v(id, handle, hash)
WHERE j.id = ANY(%(ids)s::bigint[]) AND j.id = v.id
RETURNING j.id, j.experiment_id, j.owner_id;

-- name: mark_dispatched
-- The backend accepted these attempts: each row still dispatching under the handle it was
-- claimed with (not retried, released or cancelled since) becomes pending.
UPDATE jobs_job AS j
SET status = %(pending)s, last_event_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(handles)s::text[]) AS v(id, handle)
WHERE j.id = ANY(%(ids)s::bigint[]) AND j.id = v.id AND j.handle = v.handle
    AND j.status = %(dispatching)s;

-- name: commit_without_flush
-- For a transaction whose loss in a crash of Postgres costs nothing but a repeat: its commit
-- returns before the WAL reaches the disk (later durable commits still flush it, in order).
SET LOCAL synchronous_commit TO OFF;

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
