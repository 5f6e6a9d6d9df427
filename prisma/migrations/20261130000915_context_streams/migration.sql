-- CreateTable
CREATE TABLE "ContextSignal" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL,
    "ttlSeconds" INTEGER,
    "scope" JSONB NOT NULL,
    "scopeKey" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ContextSignal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ContextSource" (
    "key" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "intervalSeconds" INTEGER NOT NULL,
    "mapping" JSONB NOT NULL,
    "scope" JSONB NOT NULL,
    "ttlSeconds" INTEGER,
    "lastPolledAt" TIMESTAMP(3),
    "lastSignals" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ContextSource_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "ContextSignal_timestamp_idx" ON "ContextSignal"("timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "ContextSignal_source_name_scopeKey_timestamp_key" ON "ContextSignal"("source", "name", "scopeKey", "timestamp");
