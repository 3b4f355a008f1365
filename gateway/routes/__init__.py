"""The gateway's routers, one module per resource: ``jobs`` (the job API) and ``ops`` (health, metrics)."""
