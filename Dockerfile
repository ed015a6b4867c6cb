# syntax=docker/dockerfile:1
#
# One image for both roles. The default command runs the ingest HTTP API; the
# worker overrides it with ["node", "--max-semi-space-size=32",
# "dist/worker/main.js"] (see docker-compose.yml and k8s/worker.yaml; the flag:
# docs/DEPLOYMENT.md, "Node flags").
#
#   docker build -t node-aggregation:0.1.0 .
#
# To deploy, push it to your registry and point k8s/ at it (README, "Deploy").

# The current Node LTS (24, supported until April 2028); package.json "engines"
# allows it, and CI runs the suite on it too (.ci/run).
ARG NODE_IMAGE=node:24-trixie-slim

# --- build: dev dependencies + TypeScript compile ------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first so the dependency layer is reused until they change
# (--ignore-scripts: "prepare" would build before the sources are copied).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# .dockerignore keeps tests, docs, manifests and local build output out.
COPY . .
RUN npm run build

# --- deps: production dependencies only ----------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the app user can read but not modify them.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric uid (the image's "node" user) so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080 8081
# Slim images have no curl: node itself GETs /livez. The same image runs either
# role, so probe both ports and succeed when one of them answers 200.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const http=require('http');const ports=[process.env.INGEST_PORT||8080,process.env.WORKER_HEALTH_PORT||8081];let left=ports.length;const miss=()=>{if(--left===0)process.exit(1)};for(const port of ports){http.get({host:'127.0.0.1',port,path:'/livez',timeout:3000},(res)=>{res.resume();if(res.statusCode===200)process.exit(0);miss()}).on('timeout',function(){this.destroy(new Error('timeout'))}).on('error',miss)}"]
# No entrypoint script and an exec-form CMD: node is PID 1 and receives SIGTERM
# itself (it drains, then exits 0). Override the command to run the worker.
ENTRYPOINT []
CMD ["node", "dist/ingest/main.js"]
