# nx-sealed-cache server: docker build -t nx-sealed-cache . && docker run -p 7080:7080 -v nxsc-data:/data nx-sealed-cache
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY generators ./generators
COPY executors ./executors
RUN npm run build

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN groupadd --system nxsc && useradd --system --gid nxsc --home-dir /data --shell /usr/sbin/nologin nxsc \
  && mkdir -p /data && chown nxsc:nxsc /data && chmod 700 /data
USER nxsc
VOLUME /data
EXPOSE 7080
# Node 20 has fetch built in; no curl in the slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM lets in-flight requests finish for --shutdown-grace (8s) within Docker's 10s stop timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0", "--data-dir", "/data"]
