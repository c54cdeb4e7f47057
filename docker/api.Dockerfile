# syntax=docker/dockerfile:1
# The API and the Celery worker: the kernel plus the built-in plugins, installed the way a
# user would install them (plain `pip install <folder>`, not editable). Build context: repo root.

# The base image is a build argument so that a site can build on its own hardened Python 3.11
# image (the tests build on one made from Debian's packages); the default is the official one.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY client /src/client
COPY kernel /src/kernel
COPY plugins /src/plugins
# The pip cache is a build cache mount: it speeds up rebuilds and never lands in a layer.
RUN --mount=type=cache,target=/root/.cache/pip pip install \
        /src/client \
        /src/kernel \
        /src/plugins/redis_store \
        /src/plugins/metrics \
        /src/plugins/lora_train \
        /src/plugins/video_generate \
        /src/plugins/webhooks

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MYSPINBOT_DATA_DIR=/data
# /data is created here, owned by the app user, so a fresh named volume mounted on it starts
# with that owner and the non-root process can write uploads and artifacts.
RUN groupadd --system myspinbot \
    && useradd --system --gid myspinbot --create-home --home-dir /home/myspinbot myspinbot \
    && mkdir /data \
    && chown myspinbot:myspinbot /data
COPY --from=build /opt/venv /opt/venv
USER myspinbot
WORKDIR /home/myspinbot
EXPOSE 3000
CMD ["myspinbot", "api", "--host", "0.0.0.0", "--port", "3000"]
