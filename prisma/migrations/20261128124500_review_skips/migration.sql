-- A reviewer may skip a leased item with a reason (audio does not load, not the language, ...): the
-- assignment closes as `skipped`, the item goes back to the queue for the others, and the review page
-- never offers it to that reviewer again.
ALTER TYPE "ra_assignment_status" ADD VALUE 'skipped';
ALTER TABLE "ra_assignments" ADD COLUMN "skip_reason" TEXT;
-- "Skipped by me" and "done today by me" look up one reviewer's closed assignments.
CREATE INDEX "ra_assignments_reviewer_id_audio_file_id_idx" ON "ra_assignments" ("reviewer_id", "audio_file_id");
