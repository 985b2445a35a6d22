# The runtime image of one variant, built from that variant's release binary
# (the bytes goreleaser puts in the linux archive). No base image is pulled:
# scripts/image.sh stages the context (the binary, the build host's CA bundle,
# passwd/group naming the non-root user, an empty data directory) and passes
# the labels; `make image VARIANT=...` and `make release-images` call it.
# e2e/image_test.go builds and runs the lean and full images.
FROM scratch

ARG VARIANT
ARG GROUPS
ARG VERSION
ARG REVISION

LABEL org.opencontainers.image.title="advanced-backend" \
      org.opencontainers.image.description="advanced-backend, variant ${VARIANT}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/advanced-backend/advanced-backend" \
      org.opencontainers.image.licenses="MIT" \
      io.advanced-backend.variant="${VARIANT}" \
      io.advanced-backend.groups="${GROUPS}"

COPY passwd group /etc/
# The llm and vector groups call TLS endpoints; Go reads this path on Linux.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The working directory, writable by the service user: relative paths land
# here, such as the embedded vector index's ./data/vector (VECTOR_DATA_DIR),
# i.e. /data/data/vector. Mount a volume on /data to keep them.
COPY --chown=65532:65532 data/ /data/
COPY advanced-backend /usr/local/bin/advanced-backend

# Numeric, so runtimes that check runAsNonRoot can tell without /etc/passwd.
USER 65532:65532
WORKDIR /data
ENV ADDR=0.0.0.0:8000
EXPOSE 8000
STOPSIGNAL SIGTERM
# No shell in the image: the binary probes /ready on ADDR itself (exit 0 ready, 1 not).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/advanced-backend", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/advanced-backend"]
CMD ["serve"]
