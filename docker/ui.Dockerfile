# syntax=docker/dockerfile:1
# The Flet web dashboard. It reaches the API over HTTP/WS only (MYSPINBOT_API_URL), so the image
# carries the client distribution and the dashboard: no kernel, no plugin. Build context: repo root.

# The base image is a build argument so that a site can build on its own hardened Python 3.11
# image (the tests build on one made from Debian's packages); the default is the official one.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY client /src/client
COPY ui_flet /src/ui_flet
# The pip cache is a build cache mount: it speeds up rebuilds and never lands in a layer.
RUN --mount=type=cache,target=/root/.cache/pip pip install /src/client /src/ui_flet

FROM ${PYTHON_IMAGE}
# Serve the web client even without a display, from the wheel rather than a CDN.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLET_FORCE_WEB_SERVER=true \
    FLET_WEB_NO_CDN=true
RUN groupadd --system myspinbot \
    && useradd --system --gid myspinbot --create-home --home-dir /home/myspinbot myspinbot
COPY --from=build /opt/venv /opt/venv
USER myspinbot
WORKDIR /home/myspinbot
EXPOSE 3001
CMD ["myspinbot-ui", "--host", "0.0.0.0", "--port", "3001"]
