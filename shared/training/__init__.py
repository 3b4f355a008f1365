"""Training: the shared loop (``loop``), data plumbing (``data``), video (``video``) and audio (``audio``,
``melcnn``) recipes behind ``deepfake train``."""
