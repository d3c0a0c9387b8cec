# Images for docker-compose.yml. `app` runs any Node service of the monorepo with tsx; `dapp` is the built SvelteKit app.
FROM node:20-bookworm AS app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg build-essential pkg-config python3-invoke \
      meson ninja-build libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev \
      flatbuffers-compiler && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm install && npm run build -w @persecond/dapp
ENV NODE_ENV=production

FROM node:20-bookworm-slim AS dapp
WORKDIR /app
COPY --from=app /app/dapp/build ./build
COPY --from=app /app/dapp/package.json ./package.json
CMD ["node", "build"]
