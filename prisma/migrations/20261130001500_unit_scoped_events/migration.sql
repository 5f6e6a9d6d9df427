-- Unit-scoped events (issue 8). Written by hand: Prisma cannot declare partitions.
-- Old rows were all restricted to one experiment, so they keep that restriction, and their
-- (eventId, experiment) pairs seed the dedupe table.

-- The old table makes way for the partitioned one.
ALTER TABLE "Event" RENAME TO "Event_legacy";
ALTER TABLE "Event_legacy" RENAME CONSTRAINT "Event_pkey" TO "Event_legacy_pkey";
ALTER TABLE "Event_legacy" DROP CONSTRAINT "Event_experimentId_fkey";
ALTER INDEX "Event_experimentId_eventId_key" RENAME TO "Event_legacy_experimentId_eventId_key";
ALTER INDEX "Event_experimentId_name_unitId_idx" RENAME TO "Event_legacy_experimentId_name_unitId_idx";
ALTER SEQUENCE "Event_id_seq" RENAME TO "Event_legacy_id_seq";

-- Partitioned by day on "timestamp": partitions are created by the writer on demand and ahead of
-- time by the storage maintenance workflow, which also drops them past the retention.
CREATE TABLE "Event" (
    "id" BIGSERIAL NOT NULL,
    "eventId" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "experimentId" UUID,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "context" JSONB NOT NULL DEFAULT '{}',
    "timestamp" TIMESTAMP(3) NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "txid" BIGINT NOT NULL DEFAULT (pg_current_xact_id())::text::bigint,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id", "timestamp")
) PARTITION BY RANGE ("timestamp");

CREATE INDEX "Event_unitId_name_timestamp_idx" ON "Event"("unitId", "name", "timestamp");
CREATE INDEX "Event_txid_idx" ON "Event"("txid");

-- One partition per day of the old rows. The migration runner splits scripts at every semicolon,
-- quoted or not, so the body's semicolons are written as \073 in an escape string.
DO E'
DECLARE d date\073
BEGIN
  FOR d IN SELECT DISTINCT ("timestamp")::date FROM "Event_legacy" LOOP
    EXECUTE format(''CREATE TABLE %I PARTITION OF "Event" FOR VALUES FROM (%L) TO (%L)'',
                   ''Event_p'' || to_char(d, ''YYYYMMDD''), d::timestamp, (d + 1)::timestamp)\073
  END LOOP\073
END';

INSERT INTO "Event" ("eventId", "unitId", "name", "value", "experimentId", "context", "timestamp", "receivedAt")
SELECT "eventId", "unitId", "name", "value", "experimentId", "context", "timestamp", "timestamp"
FROM "Event_legacy" ORDER BY "id";

-- CreateTable
CREATE TABLE "EventDedupe" (
    "eventId" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EventDedupe_pkey" PRIMARY KEY ("eventId","scope")
);

INSERT INTO "EventDedupe" ("eventId", "scope", "receivedAt")
SELECT "eventId", "experimentId"::text, "timestamp" FROM "Event_legacy"
ON CONFLICT DO NOTHING;

DROP TABLE "Event_legacy";

-- AlterTable
ALTER TABLE "Assignment" ADD COLUMN     "txid" BIGINT NOT NULL DEFAULT (pg_current_xact_id())::text::bigint;

-- CreateTable
CREATE TABLE "UnitEventAggregate" (
    "experimentId" UUID NOT NULL,
    "unitId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "count" DOUBLE PRECISION NOT NULL,
    "sum" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "UnitEventAggregate_pkey" PRIMARY KEY ("experimentId","unitId","name")
);

-- Every cycle updates the counts of the units that had new events: leave room on each page so
-- those updates stay on the page (HOT) instead of adding index entries.
ALTER TABLE "UnitEventAggregate" SET (fillfactor = 70);

-- CreateTable
CREATE TABLE "AggregateWatermark" (
    "experimentId" UUID NOT NULL,
    "txid" BIGINT NOT NULL,
    "names" TEXT[],
    "lookbackSeconds" DOUBLE PRECISION NOT NULL,
    "windowSeconds" DOUBLE PRECISION,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AggregateWatermark_pkey" PRIMARY KEY ("experimentId")
);

-- CreateTable
CREATE TABLE "DeadLetter" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "replayedAt" TIMESTAMP(3),

    CONSTRAINT "DeadLetter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "EventDedupe_receivedAt_idx" ON "EventDedupe"("receivedAt");

-- CreateIndex
CREATE INDEX "DeadLetter_replayedAt_id_idx" ON "DeadLetter"("replayedAt", "id");

-- CreateIndex
CREATE INDEX "Assignment_experimentId_txid_idx" ON "Assignment"("experimentId", "txid");

-- AddForeignKey
ALTER TABLE "AggregateWatermark" ADD CONSTRAINT "AggregateWatermark_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
