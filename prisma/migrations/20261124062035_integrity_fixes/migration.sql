-- DropIndex
DROP INDEX "Event_eventId_key";

-- AlterTable
ALTER TABLE "Notification" ADD COLUMN     "experimentKey" TEXT NOT NULL DEFAULT '',
ALTER COLUMN "decisionId" DROP NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Event_experimentId_eventId_key" ON "Event"("experimentId", "eventId");

-- At most one champion per entity × model type (a partial index Prisma's schema cannot express;
-- written by hand, so db:diff, which compares schemas, never proposes to drop it).
CREATE UNIQUE INDEX "ModelVersion_one_champion" ON "ModelVersion"("entity", "modelType") WHERE "status" = 'champion';
