-- ra_queue: flagged audio files not yet fully reviewed, with what a research assistant needs to review
-- them (transcript, score, Opus key). A file is flagged when any classification of it is; it is fully
-- reviewed once it has a label (one reviewer per file; to require more, replace this view in a new
-- migration). assigned_reviewer_id and lease_expires_at show a lease that is still running.
CREATE VIEW "ra_queue" AS
SELECT
  af."id" AS "audio_file_id",
  af."batch_id",
  af."original_filename",
  af."s3_opus_path",
  af."duration_seconds",
  t."text" AS "transcript",
  t."language",
  f."score",
  f."policy_ids",
  f."flagged_at",
  lease."reviewer_id" AS "assigned_reviewer_id",
  lease."lease_expires_at"
FROM (
  SELECT
    c."audio_file_id",
    max(c."score") AS "score",
    array_agg(DISTINCT c."policy_id" ORDER BY c."policy_id") AS "policy_ids",
    min(c."created_at") AS "flagged_at"
  FROM "classifications" c
  WHERE c."flagged"
  GROUP BY c."audio_file_id"
) f
JOIN "audio_files" af ON af."id" = f."audio_file_id"
LEFT JOIN "transcripts" t ON t."audio_file_id" = af."id"
LEFT JOIN "ra_assignments" lease
  ON lease."audio_file_id" = af."id" AND lease."status" = 'open' AND lease."lease_expires_at" > now()
WHERE NOT EXISTS (SELECT 1 FROM "ra_labels" l WHERE l."audio_file_id" = af."id");
