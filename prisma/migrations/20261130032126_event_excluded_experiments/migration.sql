-- An unrestricted event that arrives after restricted copies of the same eventId does not count
-- again in those experiments (infra/ingest.ts). Additive, and null on every existing row.
ALTER TABLE "Event" ADD COLUMN "excludedExperiments" UUID[];
