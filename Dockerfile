# heartbeat: presence service for Beep (drop-in for backend-heartbeat).
# Node 22 (the supported LTS) on Debian 12 (glibc 2.36), not alpine: uWebSockets.js ships
# glibc-only binaries. Pinned to the exact release that CI tests (.ci/run's NODE22_VERSION).
# Node 24 would need a uWebSockets.js binary for its ABI (137) that loads on the image's glibc:
# @based/uws 6.0.1's, like the official v20.57+ ones, needs glibc 2.38 (Debian 13), not 2.36.
ARG NODE_IMAGE=node:22.23.5-bookworm-slim

# --- build: full deps + tsc -> dist/ -----------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: node:22 ships npm 10, which ignores package.json "allowScripts" and would run
# esbuild's install script. The build needs no install script (uWS ships prebuilt binaries, and
# the XState patch only matters at run time: the deps stage applies it).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY machines ./machines
RUN npm run build

# --- deps: production node_modules only (own stage, so no dev deps leak) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The project's own install step, which --ignore-scripts skipped: its one patch to XState (a fast
# path for transitions without a target; docs/xstate-patch.md). A patch that does not apply
# fails the build.
COPY patches ./patches
RUN ./node_modules/.bin/patch-package --error-on-fail
# uWS ships ~180 MB of binaries for every OS/arch/ABI, next to its uws.js; keep this image's one.
# Load it for real here: a binary that is missing or does not load on this Node/glibc would stop
# heartbeat at start, so fail the build instead.
RUN keep="uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" \
 && find node_modules/uWebSockets.js -maxdepth 1 -name 'uws_*.node' ! -name "$keep" -delete \
 && node -e "require('./node_modules/uWebSockets.js/$keep'); require('uWebSockets.js')"

# --- runtime ------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LISTEN=:8080 \
    ADMIN_LISTEN=0.0.0.0:9090
WORKDIR /app
# Files stay root-owned: the non-root process can read but not rewrite its code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
# 8080 public API (behind traefik), 9090 admin: /healthz, /readyz.
EXPOSE 8080 9090
# Node's own fetch: slim has no curl. Liveness (/healthz), not readiness: an
# orchestrator restarts unhealthy containers, and a Redis outage must not
# restart every replica (it would drop every stream and not bring Redis back).
# Load balancers use /readyz (traefik does, see deploy/traefik). Hard-codes
# 9090: keep in step with ADMIN_LISTEN if you change it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The service drains on SIGTERM; exec-form CMD makes node PID 1 so it gets it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/process/main.js"]
