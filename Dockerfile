# One image for the worker, the API and the migration job; the command picks the role.
# Build stage: install everything (npm ci against the complete lockfile), generate the Prisma
# client, compile TypeScript to dist/, then drop dev dependencies. `npm prune --omit=dev` keeps the
# lockfile's "devOptional" packages (the prisma CLI and typescript, optional peers of @prisma/client,
# and their trees); nothing in production requires them, so they go too.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/prisma-generate.sh && npm run build && npm prune --omit=dev --no-audit --no-fund \
  && node -e 'for (const [p, e] of Object.entries(require("./package-lock.json").packages)) if (e.devOptional) console.log(p)' | xargs -r rm -rf \
  && find node_modules/.bin -xtype l -delete

# Runtime stage: plain node over the compiled JavaScript, production dependencies only, no tsx,
# running as the image's unprivileged `node` user.
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
USER node
# EXPFLOW_ROLE=api checks /health; worker checks that Temporal, PostgreSQL and Redis answer.
ENV EXPFLOW_ROLE=worker
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/worker.js"]
