# syntax=docker/dockerfile:1
# One image for every process of Dompet Digital Sawit; compose.yaml picks the process per service
# with `command:` (python -m subgraphs.<name>.app, python -m supergraph.server, ...).
# No keys, no .env and no databases are ever copied in: keys come from compose's keygen volumes,
# secrets from the environment, data from the `data` volume (see .dockerignore).

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# ---- builder: a self-contained virtualenv with the project and its pinned dependencies ----------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what `pip install .` needs; the source packages are listed one by one on purpose.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY subgraphs ./subgraphs
COPY supergraph ./supergraph
COPY scripts ./scripts
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --upgrade pip \
    && pip install .

# ---- graphiql: GraphiQL 5 built into static files (node is needed here only; none of it ships) ---
FROM ${NODE_IMAGE} AS graphiql
WORKDIR /graphiql
# the manifest and lockfile first: a source change alone does not download node_modules again
COPY graphiql/package.json graphiql/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY graphiql/index.html graphiql/vite.config.js ./
COPY graphiql/src ./src
RUN npm run build

# ---- runtime: slim Python, the venv, the deploy helpers, a non-root user ------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SAWIT_HOST=0.0.0.0 \
    ROUTER_HOST=0.0.0.0 \
    SANDBOX_HOST=0.0.0.0 \
    DATA_DIR=/data \
    KEYS_DIR=/keys \
    GRAPHIQL_DIST_DIR=/app/graphiql/dist
# Mount points are created here, owned by the app user, so that a new named volume mounted on them
# starts out owned by that user too (Docker copies the mount point's ownership into an empty volume).
RUN groupadd --system --gid 10001 sawit \
    && useradd --system --uid 10001 --gid sawit --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin sawit \
    && mkdir -p /app /data /keys /export/auth-keys /export/service-keys /export/public-keys \
    && chown sawit:sawit /app /data /keys /export/auth-keys /export/service-keys /export/public-keys
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY deploy/keygen.sh deploy/supergraph.yaml ./deploy/
# GraphiQL's built files, which the router and every subgraph serve (GRAPHIQL_DIST_DIR above: the
# installed package cannot find them next to its source, as a checkout does)
COPY --from=graphiql /graphiql/dist ./graphiql/dist
# the web app's static files, which the router serves at / (ROUTER_STATIC_DIR in compose.yaml)
COPY web ./web
USER sawit:sawit
EXPOSE 8000 8001 8002 8003 8004 8005 7001 7003
# The router by default; every compose service names its own process.
CMD ["python", "-m", "supergraph.server"]
