# syntax=docker/dockerfile:1
#
# The cloudflow binary (CLI, worker and cloud simulator in one) on a minimal
# non-root image, with a small HTTP probe for container healthchecks
# (deploy/healthcheck). The Temporal CLI is not included: in this shape
# Temporal runs as its own service (see docker-compose.yml) or is Temporal Cloud.
#
#   docker build -t cloudflow .
#   docker run --rm cloudflow --help

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" \
        -o /out/ ./cmd/cloudflow ./deploy/healthcheck

# distroless/static carries CA certificates (for real clouds' HTTPS APIs), tzdata
# and a "nonroot" user (65532), and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cloudflow /usr/local/bin/cloudflow
# The probe of compose's healthchecks, for an image without a shell or curl.
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/cloudflow"]
CMD ["--help"]
