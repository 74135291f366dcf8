# CPU image of qa-service. The steps mirror the README: install, prepare the models once,
# ingest the sample articles, serve. Data lives in the /data volume; the server runs as a user.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VENV=/opt/venv \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000 \
    QA_DATA_DIR=/data

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml Makefile README.md ./
COPY qa_service ./qa_service
COPY examples ./examples
COPY models/README.md ./models/README.md
COPY models/reader ./models/reader

# torch's CPU build first (PyPI's default build of the same version carries CUDA, several GB),
# then `make install models` as in the README.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && make install models

RUN useradd --create-home --uid 10001 qa \
    && mkdir -p /data \
    && chown qa:qa /data
USER 10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready')"]

# Set QA_API_KEYS when the port is reachable by others (the server warns if it isn't).
CMD ["make", "run"]
