# GuideCite app image: slim Python, CPU-only torch, the project, a non-root user (issue 8).
# Build: docker compose build   (or: docker build -t guidecite .)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Models are never downloaded at run time: the embedder ships in a wheel.
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GUIDECITE_DATA_DIR=/data

# CPU torch first, from PyTorch's CPU index, or sentence-transformers pulls several GB of CUDA
# wheels the app never uses (the model runs in SGLang's container). Same pin as the Makefile.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY assistant ./assistant
COPY ingestion ./ingestion
COPY policies ./policies
COPY ui ./ui
COPY eval ./eval
# Editable install keeps /app/eval/corpus reachable for `guidecite demo`; the code stays
# owned by root and read-only for the app user.
RUN pip install -e ".[postgres]"

RUN useradd --system --uid 10001 --create-home --home-dir /home/guidecite guidecite \
    && mkdir -p /data \
    && chown guidecite:guidecite /data
USER guidecite
# The configured embedding backend's ONNX export, if any, built once into the app user's cache.
RUN HF_HUB_OFFLINE=1 guidecite models prepare
VOLUME ["/data"]

EXPOSE 8501
CMD ["guidecite", "serve", "--host", "0.0.0.0"]
