-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "batch_status" AS ENUM ('transferred', 'unpacking', 'unpacked', 'complete', 'failed');

-- CreateEnum
CREATE TYPE "failure_stage" AS ENUM ('transfer', 'unpack', 'convert', 'transcribe', 'finalize');

-- CreateEnum
CREATE TYPE "ra_role" AS ENUM ('admin', 'ops', 'viewer', 'reviewer');

-- CreateEnum
CREATE TYPE "ra_assignment_status" AS ENUM ('open', 'submitted', 'released');

-- CreateTable
CREATE TABLE "batches" (
    "batch_id" TEXT NOT NULL,
    "archive_key" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "file_count" INTEGER,
    "source" TEXT NOT NULL,
    "status" "batch_status" NOT NULL DEFAULT 'transferred',
    "host" TEXT,
    "transferred_at" TIMESTAMPTZ(3) NOT NULL,
    "unpacking_at" TIMESTAMPTZ(3),
    "unpacked_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "succeeded_count" INTEGER,
    "failed_count" INTEGER,
    "error_code" TEXT,
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batches_pkey" PRIMARY KEY ("batch_id")
);

-- CreateTable
CREATE TABLE "audio_files" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "batch_id" TEXT NOT NULL,
    "original_filename" TEXT NOT NULL,
    "duration_seconds" DOUBLE PRECISION,
    "size_bytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "s3_opus_path" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audio_files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transcripts" (
    "audio_file_id" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "segments" JSONB NOT NULL,
    "model" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transcripts_pkey" PRIMARY KEY ("audio_file_id")
);

-- CreateTable
CREATE TABLE "classifications" (
    "id" BIGSERIAL NOT NULL,
    "audio_file_id" UUID NOT NULL,
    "policy_id" TEXT NOT NULL,
    "policy_version" TEXT NOT NULL,
    "flagged" BOOLEAN NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "model" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "classifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processing_failures" (
    "id" BIGSERIAL NOT NULL,
    "batch_id" TEXT NOT NULL,
    "entry" TEXT NOT NULL,
    "stage" "failure_stage" NOT NULL,
    "reason_code" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processing_failures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ra_users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "ra_role" NOT NULL DEFAULT 'reviewer',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ra_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ra_assignments" (
    "id" BIGSERIAL NOT NULL,
    "audio_file_id" UUID NOT NULL,
    "reviewer_id" UUID NOT NULL,
    "status" "ra_assignment_status" NOT NULL DEFAULT 'open',
    "lease_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "ra_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ra_labels" (
    "id" BIGSERIAL NOT NULL,
    "audio_file_id" UUID NOT NULL,
    "reviewer_id" UUID NOT NULL,
    "answers" JSONB NOT NULL,
    "notes" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ra_labels_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "batches_status_transferred_at_idx" ON "batches"("status", "transferred_at");

-- CreateIndex
CREATE INDEX "batches_transferred_at_idx" ON "batches"("transferred_at");

-- CreateIndex
CREATE INDEX "batches_completed_at_idx" ON "batches"("completed_at");

-- CreateIndex
CREATE INDEX "audio_files_created_at_idx" ON "audio_files"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "audio_files_batch_id_original_filename_key" ON "audio_files"("batch_id", "original_filename");

-- CreateIndex
CREATE INDEX "classifications_flagged_created_at_idx" ON "classifications"("flagged", "created_at");

-- CreateIndex
CREATE INDEX "classifications_created_at_idx" ON "classifications"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "classifications_audio_file_id_policy_id_policy_version_key" ON "classifications"("audio_file_id", "policy_id", "policy_version");

-- CreateIndex
CREATE INDEX "processing_failures_updated_at_idx" ON "processing_failures"("updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "processing_failures_batch_id_entry_stage_key" ON "processing_failures"("batch_id", "entry", "stage");

-- CreateIndex
CREATE UNIQUE INDEX "ra_users_username_key" ON "ra_users"("username");

-- CreateIndex
CREATE INDEX "ra_assignments_audio_file_id_status_idx" ON "ra_assignments"("audio_file_id", "status");

-- CreateIndex
CREATE INDEX "ra_assignments_reviewer_id_status_idx" ON "ra_assignments"("reviewer_id", "status");

-- CreateIndex
CREATE INDEX "ra_labels_created_at_idx" ON "ra_labels"("created_at");

-- CreateIndex
CREATE INDEX "ra_labels_reviewer_id_created_at_idx" ON "ra_labels"("reviewer_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "ra_labels_audio_file_id_reviewer_id_key" ON "ra_labels"("audio_file_id", "reviewer_id");

-- AddForeignKey
ALTER TABLE "audio_files" ADD CONSTRAINT "audio_files_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("batch_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_audio_file_id_fkey" FOREIGN KEY ("audio_file_id") REFERENCES "audio_files"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classifications" ADD CONSTRAINT "classifications_audio_file_id_fkey" FOREIGN KEY ("audio_file_id") REFERENCES "audio_files"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ra_assignments" ADD CONSTRAINT "ra_assignments_audio_file_id_fkey" FOREIGN KEY ("audio_file_id") REFERENCES "audio_files"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ra_assignments" ADD CONSTRAINT "ra_assignments_reviewer_id_fkey" FOREIGN KEY ("reviewer_id") REFERENCES "ra_users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ra_labels" ADD CONSTRAINT "ra_labels_audio_file_id_fkey" FOREIGN KEY ("audio_file_id") REFERENCES "audio_files"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ra_labels" ADD CONSTRAINT "ra_labels_reviewer_id_fkey" FOREIGN KEY ("reviewer_id") REFERENCES "ra_users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

