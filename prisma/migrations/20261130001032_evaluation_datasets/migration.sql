-- CreateEnum
CREATE TYPE "EvaluationRunStatus" AS ENUM ('running', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "EvaluationDataset" (
    "id" UUID NOT NULL,
    "entity" TEXT,
    "experimentKey" TEXT,
    "modelVersion" TEXT,
    "scope" JSONB NOT NULL,
    "rangeStart" TIMESTAMP(3) NOT NULL,
    "rangeEnd" TIMESTAMP(3) NOT NULL,
    "query" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "files" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EvaluationDataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EvaluationRun" (
    "id" UUID NOT NULL,
    "datasetId" UUID,
    "kind" TEXT NOT NULL,
    "status" "EvaluationRunStatus" NOT NULL DEFAULT 'running',
    "request" JSONB NOT NULL,
    "result" JSONB,
    "error" TEXT,
    "workflowId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "EvaluationRun_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "EvaluationDataset_entity_createdAt_idx" ON "EvaluationDataset"("entity", "createdAt");

-- CreateIndex
CREATE INDEX "EvaluationDataset_experimentKey_createdAt_idx" ON "EvaluationDataset"("experimentKey", "createdAt");

-- CreateIndex
CREATE INDEX "EvaluationRun_datasetId_idx" ON "EvaluationRun"("datasetId");

-- AddForeignKey
ALTER TABLE "EvaluationRun" ADD CONSTRAINT "EvaluationRun_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "EvaluationDataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;
