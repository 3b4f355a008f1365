"""``python -m gateway``: serve ``gateway.app:app`` on the host and port of its settings (env prefix, see docs/service.md)."""

import uvicorn

from shared.settings import get_gateway_settings

settings = get_gateway_settings()
uvicorn.run("gateway.app:app", host=settings.host, port=settings.port, log_level="info")
