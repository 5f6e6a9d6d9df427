-- AlterEnum
ALTER TYPE "ModelVersionStatus" ADD VALUE 'shadow';

-- CreateTable
CREATE TABLE "Prediction" (
    "id" BIGSERIAL NOT NULL,
    "modelVersionId" UUID NOT NULL,
    "unitId" TEXT NOT NULL,
    "score" DOUBLE PRECISION,
    "action" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Prediction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Prediction_modelVersionId_unitId_key" ON "Prediction"("modelVersionId", "unitId");
