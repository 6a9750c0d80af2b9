"""Flax modules: the multi-scale generator and the GAN discriminator."""

from deepdeblur_jax.models.discriminator import Discriminator
from deepdeblur_jax.models.generator import MultiScaleGenerator
from deepdeblur_jax.models.factory import create_generator, init_generator, init_discriminator

__all__ = ['Discriminator', 'MultiScaleGenerator', 'create_generator', 'init_generator',
           'init_discriminator']
