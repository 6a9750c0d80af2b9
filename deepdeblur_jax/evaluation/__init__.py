"""Image-quality metrics and evaluation loops."""
