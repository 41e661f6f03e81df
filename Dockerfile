# Sidestage production image: `docker compose up` (compose.yaml) runs it as
# several replicas behind nginx, with PostgreSQL and Redis.
#
# Two stages: the first builds a virtual environment from the source tree, the
# second copies only that environment, so neither the sources nor pip's caches
# end up in the image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Babel first: the catalogs must be compiled *before* `pip install .` so that
# the .mo files are copied into the installed package with the package data.
# The lower bound matches the runtime dependency in pyproject.toml. A C compiler
# builds the stage's native sender (setup.py); only this stage has it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && python -m venv "$VIRTUAL_ENV" \
 && pip install "babel>=2.14"

WORKDIR /src
COPY . .

# Compile the gettext catalogs when there are any. A present but broken
# catalog fails the build; a tree without catalogs says so in the build log.
RUN set -eu; \
    if [ -d sidestage/locale ] && [ -n "$(find sidestage/locale -name messages.po -print -quit)" ]; then \
        pybabel compile --statistics -d sidestage/locale -D messages; \
    else \
        echo "sidestage/locale has no messages.po: no gettext catalog to compile"; \
    fi

# Install, then prove that the native sender was built and that every compiled
# catalog made it into the installed package (`-I` so that the checks import the
# installed copy, not /src).
RUN pip install . \
 && python -I -c "import sidestage.realtime.media.accel._sendout" \
 && python -I -c "import pathlib, sys, sidestage; \
src = pathlib.Path('sidestage'); dst = pathlib.Path(sidestage.__file__).parent; \
missing = [str(p) for p in sorted(src.glob('locale/*/LC_MESSAGES/messages.mo')) \
           if not (dst / p.relative_to(src)).is_file()]; \
sys.exit('compiled catalogs missing from the installed package: ' + ', '.join(missing) if missing else 0)"


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="Sidestage" \
      org.opencontainers.image.description="The virtual day of an international conference" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    SIDESTAGE_HOST=0.0.0.0 \
    SIDESTAGE_PORT=8080 \
    SIDESTAGE_DATA_DIR=/app/var

# A fixed numeric uid/gid, so that volume ownership and Kubernetes'
# runAsNonRoot checks do not depend on the name.
RUN groupadd --system --gid 10001 sidestage \
 && useradd --system --uid 10001 --gid sidestage --home-dir /app \
            --no-create-home --shell /usr/sbin/nologin sidestage \
 && mkdir -p /app/var \
 && chown -R sidestage:sidestage /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8080

# slim has no curl: ask the server itself with the standard library. Any
# non-2xx answer or connection error raises and so exits non-zero.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SIDESTAGE_PORT', '8080'), timeout=4)"]

STOPSIGNAL SIGTERM
CMD ["sidestage", "serve"]
