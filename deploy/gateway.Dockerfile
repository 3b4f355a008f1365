# The gateway: HTTP in, jobs out. Only the `gateway` extra: no torch, no OpenVINO (a small image).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY gateway ./gateway
COPY preprocess_worker ./preprocess_worker
COPY video_service ./video_service
COPY audio_service ./audio_service
RUN pip install ".[gateway]" \
 && python -c "import sys, gateway.app; assert 'torch' not in sys.modules"
RUN useradd --create-home --uid 10001 app && mkdir -p /data && chown app /data
USER app
ENV DEEPFAKE_GATEWAY_HOST=0.0.0.0 DEEPFAKE_GATEWAY_PORT=8000 \
    DEEPFAKE_GATEWAY_UPLOAD_DIR=/data/uploads DEEPFAKE_GATEWAY_ARTIFACTS_DIR=/data/artifacts
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["python", "-m", "gateway"]
