# The audio inference service: compiles the speech model's OpenVINO IR once, serves POST /v1/infer.
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
RUN pip install ".[gateway,ml]" && pip install --no-deps silero-vad==6.2.3 \
 && python -c "import sys, shared.pipeline, shared.video_scoring, shared.audio_scoring; assert 'torch' not in sys.modules"
RUN useradd --create-home --uid 10001 app && mkdir -p /data /models && chown app /data /models
USER app
# models: a registry name (fetched and converted on first use into the cache) or a mounted model folder
ENV DEEPFAKE_CACHE_DIR=/models
ENV DEEPFAKE_AUDIO_SERVICE_HOST=0.0.0.0 DEEPFAKE_AUDIO_SERVICE_PORT=8002
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=600s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/healthz', timeout=2)"
CMD ["python", "-m", "audio_service"]
