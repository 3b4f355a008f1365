# The preprocess worker: decode, detect and crop faces, extract audio; scores come from the inference services.
# The `ml` extra: OpenVINO, PyAV, OpenCV, Pillow - no torch. Model folders (IR) come from the `models`
# volume, filled once by the `convert` image (deploy/convert.Dockerfile, compose profile `setup`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY gateway ./gateway
COPY preprocess_worker ./preprocess_worker
COPY video_service ./video_service
COPY audio_service ./audio_service
RUN pip install ".[gateway,ml]" && pip install --no-deps silero-vad==6.2.3 mediapipe==0.10.21 \
 && python -c "import sys, shared.pipeline, shared.video_scoring, shared.audio_scoring; assert 'torch' not in sys.modules"
RUN useradd --create-home --uid 10001 app && mkdir -p /data /models && chown app /data /models
USER app
# models: a registry name (fetched and converted on first use into the cache) or a mounted model folder
ENV DEEPFAKE_CACHE_DIR=/models
ENV DEEPFAKE_WORKER_UPLOAD_DIR=/data/uploads DEEPFAKE_WORKER_ARTIFACTS_DIR=/data/artifacts


CMD ["python", "-m", "preprocess_worker"]
