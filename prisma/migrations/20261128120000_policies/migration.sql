-- Policies as data: every policy version the pipeline has classified under, as the file it was read
-- from; at most one is active (new batches and the review queue use it). The review queue now also
-- holds a second review for a share of flagged items and a control sample of unflagged ones.

-- Re-classification is a stage too (failures name their stage).
ALTER TYPE "failure_stage" ADD VALUE 'classify';

-- CreateTable
CREATE TABLE "policies" (
    "policy_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "double_review_share" DOUBLE PRECISION NOT NULL DEFAULT 0.1,
    "control_share" DOUBLE PRECISION NOT NULL DEFAULT 0.05,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),

    CONSTRAINT "policies_pkey" PRIMARY KEY ("policy_id","version")
);

-- One active policy version at a time: activating one is an UPDATE of two rows in one transaction.
CREATE UNIQUE INDEX "policies_one_active" ON "policies" ("active") WHERE "active";
ALTER TABLE "policies"
  ADD CONSTRAINT "policies_sha256_check" CHECK ("sha256" ~ '^[0-9a-f]{64}$'),
  ADD CONSTRAINT "policies_double_review_share_check" CHECK ("double_review_share" >= 0 AND "double_review_share" <= 1),
  ADD CONSTRAINT "policies_control_share_check" CHECK ("control_share" >= 0 AND "control_share" <= 1);

-- A file's draw in [0, 1), from its id alone: the same file always draws the same number, so which
-- files go to a second reviewer or into the control sample is reproducible (and computable outside
-- the database: the first 32 bits of md5(id as text) / 2^32).
CREATE FUNCTION "review_draw"(file_id uuid) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || substr(md5(file_id::text), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

-- ra_queue: files waiting for (another) review, with what a research assistant needs to review them.
-- With an active policy, only its verdicts count: a flagged file needs one label, or two when its draw
-- is below the policy's double_review_share (sample 'double'); an unflagged file whose draw is below
-- control_share needs one label (sample 'control'), so that misses can be estimated. Without an active
-- policy every flagged classification counts and one label is enough (as before policies were data).
-- reviewed_by lists who labelled it already: nobody reviews the same file twice.
DROP VIEW "ra_queue";
CREATE VIEW "ra_queue" AS
WITH active AS (
  SELECT p."policy_id", p."version", p."double_review_share", p."control_share" FROM "policies" p WHERE p."active"
),
verdicts AS (
  SELECT
    c."audio_file_id",
    max(c."score") FILTER (WHERE c."flagged") AS "flagged_score",
    max(c."score") AS "score",
    array_agg(DISTINCT c."policy_id" ORDER BY c."policy_id") AS "policy_ids",
    min(c."created_at") AS "classified_at",
    bool_or(c."flagged") AS "flagged",
    coalesce(max(a."double_review_share"), 0) AS "double_review_share",
    coalesce(max(a."control_share"), 0) AS "control_share"
  FROM "classifications" c
  LEFT JOIN active a ON a."policy_id" = c."policy_id" AND a."version" = c."policy_version"
  WHERE CASE WHEN EXISTS (SELECT 1 FROM active) THEN a."policy_id" IS NOT NULL ELSE c."flagged" END
  GROUP BY c."audio_file_id"
),
sampled AS (
  SELECT
    v.*,
    CASE
      WHEN NOT v."flagged" THEN 'control'
      WHEN review_draw(v."audio_file_id") < v."double_review_share" THEN 'double'
      ELSE 'flagged'
    END AS "sample"
  FROM verdicts v
  WHERE v."flagged" OR review_draw(v."audio_file_id") < v."control_share"
)
SELECT
  af."id" AS "audio_file_id",
  af."batch_id",
  af."original_filename",
  af."s3_opus_path",
  af."duration_seconds",
  t."text" AS "transcript",
  t."language",
  coalesce(s."flagged_score", s."score") AS "score",
  s."policy_ids",
  s."classified_at" AS "flagged_at",
  lease."reviewer_id" AS "assigned_reviewer_id",
  lease."lease_expires_at",
  s."sample",
  CASE WHEN s."sample" = 'double' THEN 2 ELSE 1 END AS "reviews_required",
  coalesce(l."reviewed_by", '{}') AS "reviewed_by"
FROM sampled s
JOIN "audio_files" af ON af."id" = s."audio_file_id"
LEFT JOIN "transcripts" t ON t."audio_file_id" = af."id"
LEFT JOIN "ra_assignments" lease
  ON lease."audio_file_id" = af."id" AND lease."status" = 'open' AND lease."lease_expires_at" > now()
LEFT JOIN LATERAL (
  SELECT array_agg(rl."reviewer_id" ORDER BY rl."created_at") AS "reviewed_by", count(*) AS "n"
  FROM "ra_labels" rl WHERE rl."audio_file_id" = af."id"
) l ON true
WHERE coalesce(l."n", 0) < CASE WHEN s."sample" = 'double' THEN 2 ELSE 1 END;
