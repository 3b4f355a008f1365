"""The audio inference service: 16 kHz waveform windows in, fake probabilities out."""
