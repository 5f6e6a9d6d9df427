-- Training platform (issue 10, item 4): registry fields, training policies and retraining runs. Additive.

-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "datasetFingerprint" TEXT,
ADD COLUMN     "datasetId" TEXT,
ADD COLUMN     "metrics" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "params" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "settledBy" TEXT,
ADD COLUMN     "trainedAt" TIMESTAMP(3),
ADD COLUMN     "trainingRunId" UUID;

-- CreateTable
CREATE TABLE "TrainingPolicy" (
    "id" UUID NOT NULL,
    "entity" TEXT NOT NULL,
    "modelType" TEXT NOT NULL,
    "scheduleId" TEXT NOT NULL,
    "frequency" JSONB NOT NULL,
    "trainer" JSONB NOT NULL,
    "spec" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrainingPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingRun" (
    "id" UUID NOT NULL,
    "workflowId" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "plan" JSONB NOT NULL DEFAULT '{}',
    "experiments" JSONB NOT NULL DEFAULT '[]',
    "note" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "TrainingRun_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TrainingPolicy_scheduleId_key" ON "TrainingPolicy"("scheduleId");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingPolicy_entity_modelType_key" ON "TrainingPolicy"("entity", "modelType");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingRun_workflowId_key" ON "TrainingRun"("workflowId");

-- CreateIndex
CREATE INDEX "TrainingRun_entity_startedAt_idx" ON "TrainingRun"("entity", "startedAt");

-- CreateIndex
CREATE INDEX "ModelVersion_trainingRunId_idx" ON "ModelVersion"("trainingRunId");
