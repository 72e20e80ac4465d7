# Builds orbit-server in a Rust image and runs it on a slim Debian 12.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libclang-dev clang librocksdb-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orbit-server --bin orbit-server

FROM debian:bookworm-slim
# orbit-server links Debian's librocksdb dynamically.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates librocksdb7.8 && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data orbit && mkdir -p /data && chown orbit /data
COPY --from=build /src/target/release/orbit-server /usr/local/bin/orbit-server
USER orbit
VOLUME /data
EXPOSE 5432 3306 9042 6379 7687 8529 9090
ENTRYPOINT ["orbit-server", "--data-dir", "/data", "--bind", "0.0.0.0"]
