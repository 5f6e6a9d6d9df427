-- CreateEnum
CREATE TYPE "ModelVersionStatus" AS ENUM ('candidate', 'champion', 'retired', 'rejected');

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" UUID NOT NULL,
    "entity" TEXT NOT NULL,
    "modelType" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "status" "ModelVersionStatus" NOT NULL DEFAULT 'candidate',
    "experimentKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ModelVersion_entity_modelType_status_idx" ON "ModelVersion"("entity", "modelType", "status");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_entity_modelType_version_key" ON "ModelVersion"("entity", "modelType", "version");
