# pimbot: one container that serves /api/messages, /healthz and /readyz on $PORT (3978).
#
#   docker build -t pimbot .
#   docker run --rm -p 3978:3978 --env-file .env pimbot
#
# Settings come from the environment only (see docs/deploy.md); secrets are never baked in.

# --- build: a virtualenv holding pimbot and its locked runtime dependencies, nothing else ------
# The base is pinned by digest (python:3.11.9-slim-bookworm, linux/amd64 and arm64 index). To
# move it: `docker buildx imagetools inspect python:3.11-slim-bookworm`, then change both FROMs.
FROM python:3.11.9-slim-bookworm@sha256:dad770592ab3582ab2dabcf0e18a863df9d86bd9d23efcfa614110ce49ac20e4 AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY requirements/runtime.lock requirements/build.lock requirements/tools.lock ./requirements/
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cards ./cards

# Every dependency from the hashed lock (pip refuses any file whose hash differs), then pimbot
# itself without dependencies, built with the locked setuptools. The `dev` extra never enters.
RUN python -m venv /opt/pimbot \
    && /opt/pimbot/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.lock \
    && /opt/pimbot/bin/pip install --no-cache-dir --require-hashes -r requirements/build.lock \
    && /opt/pimbot/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/pimbot/bin/pip uninstall --yes pip setuptools wheel

# The CycloneDX SBOM of exactly what the image runs, shipped in it: /opt/pimbot/sbom.cdx.json.
RUN python -m venv /opt/sbom \
    && /opt/sbom/bin/pip install --no-cache-dir --require-hashes -r requirements/tools.lock \
    && /opt/sbom/bin/cyclonedx-py environment --output-reproducible --of JSON \
       -o /opt/pimbot/sbom.cdx.json /opt/pimbot/bin/python

# --- runtime: the virtualenv on a clean slim base, run as an unprivileged user ------------------
FROM python:3.11.9-slim-bookworm@sha256:dad770592ab3582ab2dabcf0e18a863df9d86bd9d23efcfa614110ce49ac20e4 AS runtime

ENV PATH=/opt/pimbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3978

# A fixed numeric uid, so `runAsNonRoot` style checks can verify it without /etc/passwd.
RUN groupadd --system --gid 10001 pimbot \
    && useradd --system --uid 10001 --gid pimbot --no-create-home --shell /usr/sbin/nologin pimbot \
    && mkdir -p /app/var \
    && chown -R pimbot:pimbot /app

COPY --from=build /opt/pimbot /opt/pimbot

# The default SQLite database lives in /app/var; production sets PIMBOT_DATABASE_URL instead.
WORKDIR /app
USER 10001:10001
EXPOSE 3978

# slim images have no curl: ask /healthz with the Python that is there anyway.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3978'), timeout=4)"]

CMD ["pimbot", "serve"]
