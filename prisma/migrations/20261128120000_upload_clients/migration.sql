-- Upload API clients with hashed tokens (issue 16).
-- CreateEnum
CREATE TYPE "upload_client_scope" AS ENUM ('upload', 'download');

-- CreateTable
CREATE TABLE "upload_clients" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "scope" "upload_client_scope" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "token_prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "upload_clients_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "upload_clients_name_key" ON "upload_clients"("name");

-- CreateIndex
CREATE UNIQUE INDEX "upload_clients_token_hash_key" ON "upload_clients"("token_hash");

-- A token hash is a sha256 in hex.
ALTER TABLE "upload_clients"
  ADD CONSTRAINT "upload_clients_token_hash_check" CHECK ("token_hash" ~ '^[0-9a-f]{64}$');
