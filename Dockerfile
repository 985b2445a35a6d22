# syntax=docker/dockerfile:1
# One image per variant: docker build --build-arg VARIANT=prodapi -t advanced-backend:prodapi .
# VARIANT must name a variant of internal/capability (cmd/variants refuses any
# other); e2e/release_test.go checks the default below against the registry.
ARG GO_VERSION=1.27.3
ARG VARIANT=lean

FROM golang:${GO_VERSION}-bookworm AS build
ARG VARIANT
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN tags="$(go run ./cmd/variants tags "${VARIANT}")" \
 && CGO_ENABLED=0 go build -trimpath -tags "${tags}" \
      -ldflags "-s -w -X github.com/advanced-backend/advanced-backend/internal/version.Version=${VERSION} -X github.com/advanced-backend/advanced-backend/internal/version.Commit=${COMMIT}" \
      -o /out/advanced-backend ./cmd/advanced-backend \
 && /out/advanced-backend version

# Static binary on a distroless base: no shell, no package manager, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VARIANT
LABEL org.opencontainers.image.title="advanced-backend (${VARIANT})" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/advanced-backend /usr/local/bin/advanced-backend
USER nonroot:nonroot
# the embedded vector index keeps its data in ./data/vector (VECTOR_DATA_DIR):
# a directory the nonroot user owns; mount a volume at /home/nonroot/data
WORKDIR /home/nonroot
ENV ADDR=0.0.0.0:8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/advanced-backend"]
CMD ["serve"]
