"""Analytic MAC / FLOP counts for the generator and the discriminator, and known device peaks.

Counts are exact for the architecture (conv MACs only: kh * kw * c_in * c_out per output pixel;
biases, ReLUs, additions, the pyramid and the optimizer are ignored, as is usual). For the
default generator this is 3.906 M MAC per pixel per scale, about
4.72 TMAC for one 1280x720 image over its three scales.

Training conventions ("3x forward": a backward costs about twice a forward):
  generator: forward + backward                                  = 3 x G forward
  discriminator (adversarial step only), per image:
    D update: D(real) and D(fake), each forward + backward        = 2 x 3 = 6 x D forward
    G's adversarial term: D(fake) forward + gradient to the input  = 2 x D forward
                                                                  = 8 x D forward
"""

from typing import Any, Dict, Mapping, Optional, Tuple

from deepdeblur_jax.models.discriminator import LAYERS as D_LAYERS

MAC_PER_PIXEL_PER_SCALE_DEFAULT = 3.906e6  # the default generator (rounded)
TRAIN_FORWARD_MULTIPLE = 3.0
D_FORWARDS_PER_ADVERSARIAL_STEP = 8.0

# Dense (no sparsity) peak TFLOP/s by (device kind substring, dtype). Only what the vendor
# sheet gives; anything else is "unknown" unless --peak-tflops is passed.
KNOWN_PEAK_TFLOPS: Dict[Tuple[str, str], float] = {
    ('H100', 'bfloat16'): 989.0,   # H100 SXM, bf16 dense
    ('H200', 'bfloat16'): 989.0,   # H200 SXM, bf16 dense (same compute as H100 SXM)
}


def _conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
  return (size + 2 * pad - kernel) // stride + 1


def generator_macs(height: int, width: int, n_scales: int = 3, n_resblocks: int = 19,
                   n_feats: int = 64, kernel_size: int = 5, upsample: str = 'pixel_shuffle'
                   ) -> int:
  """Exact forward MACs of the multi-scale generator on one height x width image (all scales)."""
  k2 = kernel_size * kernel_size
  total = 0
  for s in range(n_scales):
    pixels = (height >> s) * (width >> s)
    c_in = 3 if s == n_scales - 1 else 6
    per_pixel = k2 * (c_in * n_feats + 2 * n_resblocks * n_feats * n_feats + n_feats * 3)
    total += per_pixel * pixels
    if s > 0:  # upsampling of this scale's output to scale s-1
      if upsample == 'pixel_shuffle':  # conv 3 -> 12 at the coarse resolution
        total += k2 * 3 * 12 * pixels
      else:  # stride-2 transposed conv 3 -> 3: k2*3*3 MACs per coarse input pixel
        total += k2 * 3 * 3 * pixels
  return total


def generator_macs_from_config(model_config: Mapping[str, Any], height: int, width: int) -> int:
  """`generator_macs` for a `config.model` dict."""
  return generator_macs(height, width, int(model_config['n_scales']),
                        int(model_config['n_resblocks']), int(model_config['n_feats']),
                        int(model_config['kernel_size']), str(model_config['upsample']))


def discriminator_macs(height: int, width: int) -> int:
  """Exact forward MACs of the discriminator (LAYERS table + 1x1 logits) on one image."""
  h, w, c_in, total = height, width, 3, 0
  for features, kernel, stride, pad in D_LAYERS:
    h, w = _conv_out(h, kernel, stride, pad), _conv_out(w, kernel, stride, pad)
    total += h * w * kernel * kernel * c_in * features
    c_in = features
  total += h * w * c_in * 1  # 1x1 conv to one logit
  return total


def train_step_flops(model_config: Mapping[str, Any], batch: int, patch: int,
                     adversarial: bool) -> Dict[str, float]:
  """Analytic FLOPs (2 x MAC) of one training step on `batch` patch x patch pairs."""
  g = 2.0 * TRAIN_FORWARD_MULTIPLE * generator_macs_from_config(model_config, patch, patch)
  d = 2.0 * D_FORWARDS_PER_ADVERSARIAL_STEP * discriminator_macs(patch, patch) if adversarial \
      else 0.0
  return {'generator_flops': g * batch, 'discriminator_flops': d * batch,
          'flops': (g + d) * batch}


def peak_tflops(device_kind: str, dtype: str, override: Optional[float] = None
                ) -> Optional[float]:
  """The device's dense peak for `dtype` (override wins), or None when unknown (e.g. CPUs)."""
  if override:
    return float(override)
  for (name, dt), value in KNOWN_PEAK_TFLOPS.items():
    if name.lower() in device_kind.lower() and dt == dtype:
      return value
  return None
