"""Files in and out: still images (io.photos), 16-bit PNG (io.png16), atomic writes (io.atomic)
and video (io.video). The lowest layer of the package above `quantization`: it imports no model,
data or training code, and no TensorFlow."""
