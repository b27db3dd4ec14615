# One image for the worker (`python -m worker`) and the API (`python -m api`);
# docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the service needs: no .venv, .data or dev tokens from the build context.
COPY pyproject.toml ./
COPY worker.py ./
COPY core/ core/
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY recordstore/ recordstore/
COPY mailin/ mailin/
COPY policy/ policy/
COPY templates/ templates/
COPY models/ models/
COPY console/ console/
# The web console's front-end libraries, from npm by its lock file; node goes once they are in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && (cd console/assets && npm ci --no-audit --no-fund --omit=dev) \
    && apt-get purge -y nodejs npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && rm -rf /root/.npm
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent incidentflow \
    && mkdir -p /var/lib/incidentflow/attachments \
    && chown -R incidentflow /var/lib/incidentflow

# Explicit paths: core/settings.py's defaults are relative to the source tree.
ENV INCIDENTFLOW_DATA_DIR=/var/lib/incidentflow \
    INCIDENTFLOW_CONSOLE_ASSETS_DIR=/app/console/assets/node_modules \
    INCIDENTFLOW_POLICY_FILE=/app/policy/default.toml \
    INCIDENTFLOW_REPLY_TEMPLATES_DIR=/app/templates/replies \
    INCIDENTFLOW_MODELS_DIR=/app/models \
    INCIDENTFLOW_TOKENS_FILE=/etc/incidentflow/tokens.toml

USER incidentflow
EXPOSE 8000 2525
CMD ["python", "-m", "api"]
