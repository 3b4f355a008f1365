"""``python -m audio_service``: serve ``audio_service.app:app`` on the host and port of its settings (env prefix, see docs/service.md)."""

import uvicorn

from shared.settings import get_audio_service_settings

settings = get_audio_service_settings()
uvicorn.run("audio_service.app:app", host=settings.host, port=settings.port, log_level="info")
