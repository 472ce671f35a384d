# Build: docker build -t moderato .
# Run:   docker run -p 8080:8080 -v moderato-data:/data moderato
# The first start prints the generated admin token to the log (docker logs).

FROM rust:1.95-slim-bookworm AS build
# aws-lc-sys (rustls' crypto, for SMTP and webhook TLS) compiles C code.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake perl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY assets ./assets
RUN cargo build --release --locked --bin moderato \
    && strip target/release/moderato

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin moderato \
    && mkdir -p /data /app \
    && chown moderato:moderato /data
COPY --from=build /src/target/release/moderato /usr/local/bin/moderato
COPY rules /app/rules
ENV MODERATO_LISTEN=0.0.0.0:8080 \
    MODERATO_DATA_DIR=/data \
    MODERATO_RULES_DIR=/app/rules
USER moderato
VOLUME ["/data"]
EXPOSE 8080
# `moderato healthcheck` speaks HTTP itself: the image needs no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/moderato", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/moderato"]
CMD ["serve"]
