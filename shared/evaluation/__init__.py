"""Evaluation: metrics (``metrics``), plots (``plots``) and the report folder (``report``)."""
