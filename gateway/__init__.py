"""The gateway: HTTP in, jobs out. Torch-free (``gateway.app:app``; routes in ``gateway.routes``)."""
