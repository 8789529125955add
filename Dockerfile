# monitor as a container: the package with PostgreSQL support, run as a worker.
# docker-compose.yml runs two of these against one PostgreSQL, with Mailpit for email.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 monitor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'monitor[postgres]' && rm -rf /wheels
# Configuration, watchlists, templates and sample feeds are mounted here (see docker-compose.yml).
WORKDIR /config
COPY alerts /config/alerts
USER monitor
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
ENTRYPOINT ["monitor", "--config", "/config/monitor.yaml"]
CMD ["run"]
