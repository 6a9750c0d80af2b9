"""Data: blur synthesis, synthetic scenes, dataset readers and input pipelines.

Only `input_pipeline` and the `tfds_gopro_large` builder import TensorFlow; import
them explicitly (`from deepdeblur_jax.data import input_pipeline`).
"""
