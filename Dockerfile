# ksail-fluxd in a container. Multi-stage: build with the full toolchain, run with production dependencies only.
#   docker build -t ksail-fluxd .
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:/work" -w /work ksail-fluxd start
# NODE_IMAGE is an argument so that a mirror or a locally built Node image can stand in for Docker Hub's.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first so that a source change does not re-run `npm ci`. --ignore-scripts: the only install
# scripts in the tree build optional native add-ons (ssh2, cpu-features) that ksail-fluxd does not need.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json is read at run time for `--version`.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The uid 1000 `node` user of the official Node images; to use the host's Docker socket, add its group with
# `docker run --group-add $(stat -c %g /var/run/docker.sock)`.
USER node
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["start"]
