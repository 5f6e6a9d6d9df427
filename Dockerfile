# One image for the worker, the API and the migration job; the command picks the role.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/prisma-generate.sh
ENV NODE_ENV=production
CMD ["npx", "tsx", "worker.ts"]
