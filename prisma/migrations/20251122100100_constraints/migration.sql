-- Rules Prisma's schema language cannot express (written by hand; prisma migrate diff does not see them).

-- At most one open assignment (lease) per audio file; claiming a file is an INSERT that this index
-- lets only one reviewer win.
CREATE UNIQUE INDEX "ra_assignments_one_open_per_file" ON "ra_assignments" ("audio_file_id") WHERE "status" = 'open';

-- The review queue and the monitoring queries look for flagged files and for files whose Opus copy
-- is not in S3 yet; both are a small part of their tables.
CREATE INDEX "classifications_flagged_audio_file_id_idx" ON "classifications" ("audio_file_id") WHERE "flagged";
CREATE INDEX "audio_files_without_opus_created_at_idx" ON "audio_files" ("created_at") WHERE "s3_opus_path" IS NULL;

-- The system of record refuses values no stage can legitimately produce.
ALTER TABLE "batches"
  ADD CONSTRAINT "batches_sha256_check" CHECK ("sha256" ~ '^[0-9a-f]{64}$'),
  ADD CONSTRAINT "batches_size_bytes_check" CHECK ("size_bytes" >= 0),
  ADD CONSTRAINT "batches_file_count_check" CHECK ("file_count" >= 0),
  ADD CONSTRAINT "batches_counts_check" CHECK ("succeeded_count" >= 0 AND "failed_count" >= 0);
ALTER TABLE "audio_files"
  ADD CONSTRAINT "audio_files_sha256_check" CHECK ("sha256" ~ '^[0-9a-f]{64}$'),
  ADD CONSTRAINT "audio_files_size_bytes_check" CHECK ("size_bytes" >= 0),
  ADD CONSTRAINT "audio_files_duration_seconds_check" CHECK ("duration_seconds" >= 0);
ALTER TABLE "classifications"
  ADD CONSTRAINT "classifications_score_check" CHECK ("score" >= 0 AND "score" <= 1);
ALTER TABLE "processing_failures"
  ADD CONSTRAINT "processing_failures_attempts_check" CHECK ("attempts" >= 0);
