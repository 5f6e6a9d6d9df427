-- CreateTable
CREATE TABLE "ReportRollup" (
    "experimentId" UUID NOT NULL,
    "spec" JSONB NOT NULL,
    "factors" TEXT[],
    "skipped" TEXT[],

    CONSTRAINT "ReportRollup_pkey" PRIMARY KEY ("experimentId")
);

-- CreateTable
CREATE TABLE "ReportCell" (
    "experimentId" UUID NOT NULL,
    "factor" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "metric" TEXT NOT NULL,
    "variant" TEXT NOT NULL,
    "segment" INTEGER NOT NULL,
    "period" INTEGER NOT NULL,
    "share" DOUBLE PRECISION NOT NULL,
    "stratum" TEXT NOT NULL,
    "n" INTEGER NOT NULL,
    "sum" DOUBLE PRECISION NOT NULL,
    "ss" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "ReportCell_pkey" PRIMARY KEY ("experimentId","factor","value","metric","variant","segment","period","share","stratum")
);

-- AddForeignKey
ALTER TABLE "ReportRollup" ADD CONSTRAINT "ReportRollup_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReportCell" ADD CONSTRAINT "ReportCell_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "ReportRollup"("experimentId") ON DELETE CASCADE ON UPDATE CASCADE;
