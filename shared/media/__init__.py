"""Media I/O: what is accepted (``formats``), probing (``probe``), video decoding and frame sampling
(``video``), images (``image``) and audio (``audio``). Bad input raises the ``shared.errors`` types with
stable codes, never a library error."""
