# nx-sealed-cache server: docker build -t nx-sealed-cache . && docker run -p 7080:7080 -v nxsc-data:/data nx-sealed-cache
# One npm ci: the build stage installs, builds, then prunes to production dependencies for the runtime stage.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY generators ./generators
COPY executors ./executors
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN groupadd --system nxsc && useradd --system --gid nxsc --home-dir /data --shell /usr/sbin/nologin nxsc \
  && mkdir -p /data && chown nxsc:nxsc /data && chmod 700 /data
USER nxsc
VOLUME /data
EXPOSE 7080
# Node 20 has fetch built in; no curl in the slim image. The port follows NX_SEALED_CACHE_SERVER_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.NX_SEALED_CACHE_SERVER_PORT || 7080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM lets in-flight requests finish for --shutdown-grace (8s) within Docker's 10s stop timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
# --init-admin: the first start creates the administrator and prints its token once (see `docker logs`).
CMD ["serve", "--init-admin", "--host", "0.0.0.0", "--data-dir", "/data"]
