# Stand-in for `prom/prometheus`, for the container test tier only: Debian's prometheus 2.42 on
# the base image made from Debian's packages (no registry can be reached). Like the official
# image its entrypoint is the server, `command:` gives its flags, it runs as `nobody` and writes
# /prometheus; wget is there because the compose file's health check uses it (the official
# image has busybox's).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus /etc/prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
