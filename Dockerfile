# syntax=docker/dockerfile:1
# The ingestion engine: `ingestion` (API + scheduler + workers, or `ingestion worker`) and
# `run-task`. Build: docker build -t ingestion .   Run: docker run -p 8080:8080 ingestion

# ---- build ----
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY rust-toolchain.toml Cargo.toml Cargo.lock ./
COPY crates crates
COPY config config
COPY benches benches
COPY tests tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ingestion --bin run-task \
 && mkdir -p /out && cp target/release/ingestion target/release/run-task /out/

# ---- runtime ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ingestion --create-home ingestion
COPY --from=build /out/ingestion /out/run-task /usr/local/bin/
COPY config/default.toml config/example.toml /etc/ingestion/
USER ingestion
WORKDIR /var/lib/ingestion
VOLUME ["/var/lib/ingestion"]
EXPOSE 8080
ENV RUST_LOG=info
# Sources may reach no internal network (the embedded default allows loopback, for a local
# `serve`); list the internal networks your sources live on, comma-separated.
ENV INGESTION__SOURCES__ALLOW_NETWORKS=""
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT []
CMD ["ingestion", "serve", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/ingestion"]
