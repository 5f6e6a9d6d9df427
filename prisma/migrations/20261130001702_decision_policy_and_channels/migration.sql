-- CreateTable
CREATE TABLE "NotificationAttempt" (
    "id" BIGSERIAL NOT NULL,
    "notificationId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "ok" BOOLEAN,
    "httpStatus" INTEGER,
    "error" TEXT,
    "durationMs" INTEGER,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NotificationAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OperatorAction" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "arm" TEXT,
    "actor" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "cycle" INTEGER NOT NULL,
    "dedupeKey" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OperatorAction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "NotificationAttempt_notificationId_attempt_idx" ON "NotificationAttempt"("notificationId", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "OperatorAction_dedupeKey_key" ON "OperatorAction"("dedupeKey");

-- CreateIndex
CREATE INDEX "OperatorAction_experimentId_kind_idx" ON "OperatorAction"("experimentId", "kind");

-- AddForeignKey
ALTER TABLE "NotificationAttempt" ADD CONSTRAINT "NotificationAttempt_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "Notification"("id") ON DELETE CASCADE ON UPDATE CASCADE;
