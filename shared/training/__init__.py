"""Training behind ``deepfake train``: the shared loop and the options every recipe takes (``loop``), data
plumbing (``data``), the face recipe (``video``), the audio entry with AASIST (``audio``), the mel CNN
(``melcnn``) and what the two audio recipes share (``audio_common``)."""
