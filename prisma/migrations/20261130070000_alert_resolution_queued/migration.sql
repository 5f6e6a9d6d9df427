-- Scans announce a resolution until it is marked queued, however late (they used to look back 15 minutes).
ALTER TABLE "Alert" ADD COLUMN "resolutionQueuedAt" TIMESTAMP(3);

-- Resolutions past the old 15-minute window were announced then, or never will be: not now, years late.
UPDATE "Alert" SET "resolutionQueuedAt" = "resolvedAt"
WHERE "resolvedAt" IS NOT NULL AND "resolvedAt" < (now() AT TIME ZONE 'UTC') - interval '15 minutes';
