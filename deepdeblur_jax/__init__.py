"""DeepDeblur (Nah, Kim, Lee, CVPR 2017) in JAX/Flax."""

from deepdeblur_jax import platforms as _platforms

# Before any entry point imports jax: with libtpu installed on a machine without a TPU, keep JAX
# from opening the TPU back end (and printing libtpu's start-up errors).
_platforms.skip_absent_tpu()
