# actiond in a container: Debian 12 (bookworm), built in one stage, run as a non-root user in
# another. Nothing here is built by the test suite (these machines reach no image registry);
# tests/it/container.rs lints it with hadolint, checks that everything it copies exists and is
# not excluded by .dockerignore, and runs its HEALTHCHECK against a real actiond.
#
#   docker build -t actiond .
#   docker run --rm -v "$PWD/my.toml:/etc/actiond/pipeline.toml:ro" actiond
#   docker compose -f contrib/docker/compose.yaml up     (with mosquitto)

# --- build: the daemon only (no developer tools), laid out by scripts/install.sh as the Debian
# package is, under /stage.
FROM rust:1.95-bookworm AS build
# Debian stable's security updates move these versions: pinning them would freeze the fixes out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev python3-pip unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock README.md ./
COPY src src
COPY scripts/setup.sh scripts/install.sh scripts/
COPY models/labels.txt models/*.onnx models/
COPY systemd systemd
RUN bash scripts/setup.sh onnxruntime \
    && cargo build --release --locked --bin actiond \
    && DESTDIR=/stage PREFIX=/usr SYSCONFDIR=/etc SYSTEMD_UNIT_DIR=/lib/systemd/system \
       bash scripts/install.sh install \
    && strip --strip-debug /stage/usr/bin/actiond

# --- run: GStreamer's decoders and plugins, the staged files, a system user.
FROM debian:12-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
       gstreamer1.0-plugins-ugly gstreamer1.0-libav ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/actiond --create-home \
       --shell /usr/sbin/nologin actiond
COPY --from=build /stage/usr /usr
COPY --from=build /stage/etc/actiond /etc/actiond
# The health endpoint must answer inside the container (HEALTHCHECK) and through a published
# port: it listens on every interface of the container's own network namespace. Publish it on
# the host's loopback (compose.yaml does) unless you mean to expose it.
ENV ACTIOND__SERVICE__HTTP_LISTEN=0.0.0.0:9464
EXPOSE 9464
# actiond:actiond, by number so that a runtime that cannot read /etc/passwd still drops root.
USER 10001:10001
WORKDIR /var/lib/actiond
VOLUME ["/var/lib/actiond"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--show-error", "--max-time", "4", "http://127.0.0.1:9464/healthz"]
# SIGTERM (docker stop) drains every window already cut and flushes the sinks.
STOPSIGNAL SIGTERM
ENTRYPOINT ["actiond"]
CMD ["run", "/etc/actiond/pipeline.toml"]
