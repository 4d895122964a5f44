-- Monitoring queries for psql users: the same checks as MonitoringQueries in packages/db
-- (src/monitoring-queries.ts); packages/db/test/monitoring-sql.test.ts keeps the two in step.
--
--   psql "$DATABASE_URL" -X -f infra/monitoring.sql
--   psql "$DATABASE_URL" -X -v tz=Europe/Berlin -v cutoff=05:00 -v stuck_after='3 hours' -f infra/monitoring.sql
--
-- Variables (-v name=value), with their defaults:
--   now          end of every window               now (the server's clock)
--   stuck_after  a batch not complete after this   2 hours
--   since        window of the rate queries        24 hours
--   hours        hourly buckets in files per hour  24
--   tz           time zone of the noon target      UTC
--   cutoff       transfers before this are due     06:00
--   deadline     ... complete by this, same day    12:00
--   lookback     oldest transfer the target counts 7 days
--   opus_grace   an Opus key may lag the row by    10 minutes
--   days         days of reviews per reviewer      7
\set ON_ERROR_STOP on
\if :{?now} \else \set now now \endif
\if :{?stuck_after} \else \set stuck_after '2 hours' \endif
\if :{?since} \else \set since '24 hours' \endif
\if :{?hours} \else \set hours 24 \endif
\if :{?tz} \else \set tz UTC \endif
\if :{?cutoff} \else \set cutoff 06:00 \endif
\if :{?deadline} \else \set deadline 12:00 \endif
\if :{?lookback} \else \set lookback '7 days' \endif
\if :{?opus_grace} \else \set opus_grace '10 minutes' \endif
\if :{?days} \else \set days 7 \endif

\echo '## batches by status'
SELECT s.status::text AS status, count(b.batch_id)::int AS batches
FROM unnest(enum_range(NULL::batch_status)) AS s(status)
LEFT JOIN batches b ON b.status = s.status
GROUP BY s.status
ORDER BY s.status;

\echo '## stuck batches (not complete after stuck_after)'
WITH t AS (SELECT :'now'::timestamptz AS now)
SELECT b.batch_id, b.status::text AS status, b.host, b.archive_key, b.transferred_at,
       extract(epoch FROM t.now - b.transferred_at)::float8 AS age_seconds
FROM batches b, t
WHERE b.status NOT IN ('complete', 'failed')
  AND b.transferred_at < t.now - :'stuck_after'::interval
ORDER BY b.transferred_at, b.batch_id;

\echo '## failures by reason (since)'
WITH t AS (SELECT :'now'::timestamptz AS now)
SELECT f.stage::text AS stage, f.reason_code, count(*)::int AS failures,
       count(DISTINCT f.batch_id)::int AS batches, max(f.updated_at) AS last_seen_at
FROM processing_failures f, t
WHERE f.updated_at >= t.now - :'since'::interval AND f.updated_at <= t.now
GROUP BY f.stage, f.reason_code
ORDER BY failures DESC, f.stage, f.reason_code;

\echo '## files per hour (UTC)'
WITH t AS (SELECT :'now'::timestamptz AS now),
h AS (
  SELECT generate_series(
           date_trunc('hour', t.now, 'UTC') - (:'hours'::int - 1) * interval '1 hour',
           date_trunc('hour', t.now, 'UTC'),
           interval '1 hour') AS hour
  FROM t
)
SELECT h.hour, count(a.id)::int AS files
FROM h CROSS JOIN t
LEFT JOIN audio_files a
  ON a.created_at >= h.hour AND a.created_at < h.hour + interval '1 hour' AND a.created_at <= t.now
GROUP BY h.hour
ORDER BY h.hour;

\echo '## files per host (since)'
WITH t AS (SELECT :'now'::timestamptz AS now)
SELECT b.host, count(*)::int AS files, count(DISTINCT b.batch_id)::int AS batches
FROM audio_files a JOIN batches b ON b.batch_id = a.batch_id, t
WHERE a.created_at >= t.now - :'since'::interval AND a.created_at <= t.now
GROUP BY b.host
ORDER BY files DESC, b.host NULLS LAST;

\echo '## transfer -> complete latency, seconds (batches completed since)'
WITH t AS (SELECT :'now'::timestamptz AS now),
l AS (
  SELECT extract(epoch FROM b.completed_at - b.transferred_at)::float8 AS s
  FROM batches b, t
  WHERE b.status = 'complete' AND b.completed_at >= t.now - :'since'::interval AND b.completed_at <= t.now
)
SELECT count(*)::int AS batches,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90_seconds,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY s) AS p99_seconds,
       max(s) AS max_seconds
FROM l;

\echo '## noon target: batches transferred before cutoff complete by deadline (tz), flagged items waiting'
WITH t AS (SELECT :'now'::timestamptz AS now),
d AS (
  SELECT t.now, x.day,
         (x.day + :'cutoff'::time) AT TIME ZONE :'tz' AS cutoff_at,
         (x.day + :'deadline'::time) AT TIME ZONE :'tz' AS deadline_at
  FROM t, LATERAL (SELECT (t.now AT TIME ZONE :'tz')::date AS day) x
),
due AS (
  SELECT b.batch_id, b.transferred_at,
         (b.completed_at IS NOT NULL AND b.completed_at <= least(d.now, d.deadline_at)) AS complete
  FROM batches b, d
  WHERE b.transferred_at < d.cutoff_at AND b.transferred_at >= d.cutoff_at - :'lookback'::interval
    AND b.status <> 'failed' -- failed as a whole: never completes by itself, a replay makes it due again
)
SELECT d.day::text AS date, :'tz'::text AS time_zone, d.cutoff_at, d.deadline_at,
       d.now >= d.deadline_at AS deadline_passed,
       (SELECT count(*)::int FROM due) AS batches_due,
       (SELECT count(*)::int FROM due WHERE complete) AS batches_complete,
       array(SELECT batch_id FROM due WHERE NOT complete ORDER BY transferred_at, batch_id) AS late_batch_ids,
       NOT EXISTS (SELECT 1 FROM due WHERE NOT complete) AS met,
       (SELECT count(*)::int FROM ra_queue) AS flagged_waiting
FROM d;

\echo '## flagged items waiting for review'
SELECT count(*)::int AS waiting,
       count(assigned_reviewer_id)::int AS assigned,
       count(*) FILTER (WHERE s3_opus_path IS NULL)::int AS without_opus_key
FROM ra_queue;

\echo '## oldest unreviewed flagged item'
SELECT q.audio_file_id::text AS audio_file_id, q.batch_id, q.original_filename, q.flagged_at,
       extract(epoch FROM :'now'::timestamptz - q.flagged_at)::float8 AS age_seconds
FROM ra_queue q
ORDER BY q.flagged_at, q.audio_file_id
LIMIT 1;

\echo '## audio files without an opus key (older than opus_grace)'
SELECT count(*)::int AS files, min(created_at) AS oldest_created_at
FROM audio_files
WHERE s3_opus_path IS NULL AND created_at <= :'now'::timestamptz - :'opus_grace'::interval;

\echo '## classification rate by label (since)'
WITH t AS (SELECT :'now'::timestamptz AS now)
SELECT c.policy_id, c.policy_version,
       count(*)::int AS classified,
       count(*) FILTER (WHERE c.flagged)::int AS flagged,
       count(*) FILTER (WHERE NOT c.flagged)::int AS not_flagged,
       (count(*) FILTER (WHERE c.flagged))::float8 / count(*) AS flagged_rate
FROM classifications c, t
WHERE c.created_at >= t.now - :'since'::interval AND c.created_at <= t.now
GROUP BY c.policy_id, c.policy_version
ORDER BY c.policy_id, c.policy_version;

\echo '## reviews per reviewer per day (tz, last days)'
WITH t AS (SELECT :'now'::timestamptz AS now)
SELECT (l.created_at AT TIME ZONE :'tz')::date::text AS day, u.username, count(*)::int AS reviews
FROM ra_labels l JOIN ra_users u ON u.id = l.reviewer_id, t
WHERE l.created_at >= (((t.now AT TIME ZONE :'tz')::date - (:'days'::int - 1)) AT TIME ZONE :'tz')
  AND l.created_at <= t.now
GROUP BY 1, u.username
ORDER BY 1, u.username;
