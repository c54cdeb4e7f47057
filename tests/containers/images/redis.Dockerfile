# Stand-in for the official `redis` image, for the container test tier only: Debian's
# redis-server 7.0 on the base image made from Debian's packages (no registry can be reached).
# Like the official image it runs as an unprivileged `redis` user in /data, accepts `command:`
# as redis-server arguments, and turns protected mode off (the official build does so at
# compile time; the stack's Redis is reachable only on its internal network).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data \
    && printf '#!/bin/sh\nif [ "$1" = redis-server ]; then shift; exec redis-server "$@" --protected-mode no; fi\nexec "$@"\n' \
        > /usr/local/bin/redis-entrypoint && chmod +x /usr/local/bin/redis-entrypoint
USER redis
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
