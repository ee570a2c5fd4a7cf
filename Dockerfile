# tierdesk worker image: the scheduled sync as a non-root user, state on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIERDESK_MAPPINGS=/app/mappings \
    TIERDESK_DB=sqlite:////data/tierdesk.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY plugins ./plugins
COPY worker.py ./
RUN pip install . && useradd --system --uid 10001 --home-dir /app tierdesk \
    && mkdir -p /data && chown tierdesk /data
# Mappings are the admin's: mount your own over /app/mappings; the examples are a starting point.
COPY mappings ./mappings

USER tierdesk
VOLUME ["/data"]
# Credentials come from the environment variables (or *_FILE secrets) the connections name.
HEALTHCHECK --interval=60s --timeout=5s CMD ["tierdesk", "check", "/app/mappings"]
ENTRYPOINT ["python", "worker.py"]
