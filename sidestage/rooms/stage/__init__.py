"""The stage: who the host put on it, and the speakers' camera and screen to viewers."""
