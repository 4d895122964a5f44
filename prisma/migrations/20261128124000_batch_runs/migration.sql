-- Issue 16: a batch's first completion is kept (completed_at); each run (first, replay, retry of failed
-- files) is a row of batch_runs; failed_at stops a failed batch's clock; sha256 finds an archive that arrives again.
-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "failed_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "batch_runs" (
    "batch_id" TEXT NOT NULL,
    "run" INTEGER NOT NULL,
    "scope" TEXT NOT NULL DEFAULT 'all',
    "host" TEXT NOT NULL,
    "status" "batch_status" NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "unpacked_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "file_count" INTEGER,
    "succeeded_count" INTEGER,
    "failed_count" INTEGER,
    "error_code" TEXT,

    CONSTRAINT "batch_runs_pkey" PRIMARY KEY ("batch_id","run")
);

-- CreateIndex
CREATE INDEX "batches_sha256_idx" ON "batches"("sha256");

-- AddForeignKey
ALTER TABLE "batch_runs" ADD CONSTRAINT "batch_runs_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("batch_id") ON DELETE CASCADE ON UPDATE CASCADE;


ALTER TABLE "batch_runs" ADD CONSTRAINT "batch_runs_scope_check" CHECK ("scope" IN ('all', 'failed-files'));

-- Failed batches from before this migration: their last update is when they failed.
UPDATE "batches" SET "failed_at" = "updated_at" WHERE "status" = 'failed' AND "failed_at" IS NULL;
