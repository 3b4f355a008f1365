"""The video inference service: uint8 face crops in, fake logits (+ attention maps) out."""
