"""Deblurring with a trained generator, no TensorFlow: the jitted deblur (inference.deblur),
tiles for large images (inference.tiling), the inference checkpoint (inference.checkpoint) and the
drivers for photo files and folders (inference.files) and video files (inference.video_files)."""
