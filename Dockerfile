# otelcol-flipt container image: the static binary `make build` makes, nothing else.
#
#   make image                      # podman build (CONTAINER=docker for docker) of dist/stage/image
#
# The build context is dist/stage/image (make image fills it): otelcol-flipt, config.yaml,
# traces-backend.yaml, the build host's ca-certificates.crt and an empty data/. The base is scratch, so the
# image builds without a registry and holds no shell, package manager or libc.
FROM scratch

ARG VERSION=dev
ARG USER_UID=10001
ARG USER_GID=10001

LABEL org.opencontainers.image.title="otelcol-flipt" \
      org.opencontainers.image.description="OpenTelemetry Collector distribution for the Flipt feature-flag server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/otelcol-flipt/otelcol-flipt"

COPY --chmod=0644 ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chmod=0755 otelcol-flipt /otelcol-flipt
COPY --chmod=0644 config.yaml traces-backend.yaml /etc/otelcol-flipt/
# The audit file lives here (the config's default path). Mount a volume owned by
# ${USER_UID} (or writable by it): the file is created 0600 and fsynced per batch.
COPY --chown=${USER_UID}:${USER_GID} --chmod=0750 data/ /var/lib/otelcol-flipt/
VOLUME ["/var/lib/otelcol-flipt"]
WORKDIR /var/lib/otelcol-flipt

USER ${USER_UID}:${USER_GID}

# Every listener binds to localhost inside the container, so nothing is reachable from
# outside until you say so, one listener at a time, e.g.
#   -e OTELCOL_FLIPT_WEBHOOK_ENDPOINT=0.0.0.0:8088 -p 8088:8088
# Probe: GET http://<OTELCOL_FLIPT_HEALTH_ENDPOINT>/ answers 200 while healthy (a scratch
# image has no program to run a HEALTHCHECK with; see examples/kubernetes/).
EXPOSE 4317 4318 8088 8889 13133
ENTRYPOINT ["/otelcol-flipt"]
CMD ["--config", "/etc/otelcol-flipt/config.yaml"]
