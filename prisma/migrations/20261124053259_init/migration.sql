-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "ExperimentKind" AS ENUM ('ab', 'multi_arm', 'model_comparison');

-- CreateEnum
CREATE TYPE "ExperimentStatus" AS ENUM ('draft', 'running', 'paused', 'concluded', 'stopped');

-- CreateEnum
CREATE TYPE "SegmentStatus" AS ENUM ('active', 'throttled', 'terminated');

-- CreateEnum
CREATE TYPE "NotificationStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "Experiment" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "hypothesis" TEXT NOT NULL DEFAULT '',
    "kind" "ExperimentKind" NOT NULL,
    "status" "ExperimentStatus" NOT NULL DEFAULT 'draft',
    "config" JSONB NOT NULL,
    "owner" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Experiment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Variant" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "initialWeight" DOUBLE PRECISION NOT NULL,
    "isControl" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "Variant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Assignment" (
    "id" BIGSERIAL NOT NULL,
    "experimentId" UUID NOT NULL,
    "unitId" TEXT NOT NULL,
    "variant" TEXT NOT NULL,
    "propensity" DOUBLE PRECISION NOT NULL,
    "segment" INTEGER NOT NULL,
    "snapshotVersion" INTEGER NOT NULL,
    "context" JSONB NOT NULL DEFAULT '{}',
    "assignedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Assignment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Event" (
    "id" BIGSERIAL NOT NULL,
    "eventId" TEXT NOT NULL,
    "experimentId" UUID NOT NULL,
    "unitId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "context" JSONB NOT NULL DEFAULT '{}',
    "timestamp" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Segment" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "segmentId" INTEGER NOT NULL,
    "centroid" JSONB NOT NULL,
    "scaling" JSONB NOT NULL,
    "size" INTEGER NOT NULL,
    "status" "SegmentStatus" NOT NULL DEFAULT 'active',
    "coverage" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "cycleUpdated" INTEGER NOT NULL,
    "statusReason" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "Segment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SegmentMembership" (
    "experimentId" UUID NOT NULL,
    "unitId" TEXT NOT NULL,
    "segmentId" INTEGER NOT NULL,
    "cycle" INTEGER NOT NULL,

    CONSTRAINT "SegmentMembership_pkey" PRIMARY KEY ("experimentId","unitId")
);

-- CreateTable
CREATE TABLE "AllocationSnapshot" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "cycle" INTEGER NOT NULL,
    "step" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "weights" JSONB NOT NULL,
    "snapshot" JSONB NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AllocationSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CycleStats" (
    "experimentId" UUID NOT NULL,
    "cycle" INTEGER NOT NULL,
    "step" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CycleStats_pkey" PRIMARY KEY ("experimentId","cycle","step")
);

-- CreateTable
CREATE TABLE "Decision" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "cycle" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "rationale" TEXT NOT NULL,
    "statistics" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Decision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" UUID NOT NULL,
    "decisionId" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "status" "NotificationStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "idempotencyKey" TEXT NOT NULL,
    "lastError" TEXT,
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "reason" TEXT NOT NULL DEFAULT '',
    "data" JSONB NOT NULL DEFAULT '{}',
    "dedupeKey" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Experiment_key_key" ON "Experiment"("key");

-- CreateIndex
CREATE UNIQUE INDEX "Variant_experimentId_key_key" ON "Variant"("experimentId", "key");

-- CreateIndex
CREATE INDEX "Assignment_experimentId_variant_idx" ON "Assignment"("experimentId", "variant");

-- CreateIndex
CREATE UNIQUE INDEX "Assignment_experimentId_unitId_key" ON "Assignment"("experimentId", "unitId");

-- CreateIndex
CREATE UNIQUE INDEX "Event_eventId_key" ON "Event"("eventId");

-- CreateIndex
CREATE INDEX "Event_experimentId_name_unitId_idx" ON "Event"("experimentId", "name", "unitId");

-- CreateIndex
CREATE UNIQUE INDEX "Segment_experimentId_segmentId_key" ON "Segment"("experimentId", "segmentId");

-- CreateIndex
CREATE UNIQUE INDEX "AllocationSnapshot_experimentId_version_key" ON "AllocationSnapshot"("experimentId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "AllocationSnapshot_experimentId_cycle_step_key" ON "AllocationSnapshot"("experimentId", "cycle", "step");

-- CreateIndex
CREATE UNIQUE INDEX "Decision_experimentId_cycle_key" ON "Decision"("experimentId", "cycle");

-- CreateIndex
CREATE UNIQUE INDEX "Notification_idempotencyKey_key" ON "Notification"("idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "AuditLog_dedupeKey_key" ON "AuditLog"("dedupeKey");

-- CreateIndex
CREATE INDEX "AuditLog_target_at_idx" ON "AuditLog"("target", "at");

-- AddForeignKey
ALTER TABLE "Variant" ADD CONSTRAINT "Variant_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Assignment" ADD CONSTRAINT "Assignment_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Event" ADD CONSTRAINT "Event_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Segment" ADD CONSTRAINT "Segment_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AllocationSnapshot" ADD CONSTRAINT "AllocationSnapshot_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CycleStats" ADD CONSTRAINT "CycleStats_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Decision" ADD CONSTRAINT "Decision_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_decisionId_fkey" FOREIGN KEY ("decisionId") REFERENCES "Decision"("id") ON DELETE CASCADE ON UPDATE CASCADE;
