"""JAX's platform choice at start-up: no TPU back end on a machine without a TPU.

With libtpu installed (requirements-tpu.txt: the TPU compiler for tools/tpu_plan.py), JAX tries
to open a TPU the first time it initialises its back ends. On a machine without one, libtpu then
prints its start-up errors on stderr ("could not determine TPU accelerator type", "unexpected
worker hostname", a "Source Location Trace") before falling back to the CPU. `skip_absent_tpu`
lists the other platforms in JAX_PLATFORMS instead; it runs when `deepdeblur_jax` is imported,
before any entry point imports jax. TPU plans still compile: they use compile-only TPU devices,
which need libtpu but no TPU back end.
"""

import glob
import importlib.metadata
import importlib.util
import os
import pkgutil
import sys
from typing import List, MutableMapping, Optional, Sequence

# JAX's GPU plugins (module names in the `jax_plugins` namespace or entry-point names) by prefix,
# and the device files that show the hardware is there (the checks JAX itself makes).
_PLUGIN_PLATFORMS = (('xla_cuda', 'cuda', ('/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg')),
                     ('xla_rocm', 'rocm', ('/dev/kfd', '/dev/dxg')))
_GOOGLE_PCI_VENDOR = '0x1ae0'
_GOOGLE_VIRTUAL_NIC = '0x0042'  # gVNIC, the one Google PCI device on Cloud VMs that is no TPU


def tpu_present() -> bool:
  """True when this machine shows a TPU: /dev/accel* (TPU v2-v4), /dev/vfio/N (v5e and later),
  or a Google PCI device other than the virtual NIC."""
  if glob.glob('/dev/accel*') or glob.glob('/dev/vfio/[0-9]*'):
    return True
  for vendor_file in glob.glob('/sys/bus/pci/devices/*/vendor'):
    try:
      with open(vendor_file) as f:
        if f.read().strip() != _GOOGLE_PCI_VENDOR:
          continue
      with open(os.path.join(os.path.dirname(vendor_file), 'device')) as f:
        if f.read().strip() != _GOOGLE_VIRTUAL_NIC:
          return True
    except OSError:
      continue
  return False


def libtpu_installed(environ: MutableMapping[str, str] = os.environ) -> bool:
  """True when JAX would find libtpu: the `libtpu` package or TPU_LIBRARY_PATH."""
  return bool(environ.get('TPU_LIBRARY_PATH')) or importlib.util.find_spec('libtpu') is not None


def _plugin_names() -> List[str]:
  """Names of the installed JAX plugins (modules in `jax_plugins`, `jax_plugins` entry points)."""
  names = []
  spec = importlib.util.find_spec('jax_plugins')
  if spec is not None and spec.submodule_search_locations:
    names += [m.name for m in pkgutil.iter_modules(list(spec.submodule_search_locations))]
  names += [ep.name for ep in importlib.metadata.entry_points(group='jax_plugins')]
  return names


def _any_exists(paths: Sequence[str]) -> bool:
  return any(os.path.exists(p) for p in paths)


def other_platforms() -> Optional[List[str]]:
  """The platforms JAX would use besides the TPU: those of the installed GPU plugins whose
  hardware is present, then 'cpu'; None when a plugin of unknown kind is installed."""
  platforms = []
  for name in _plugin_names():
    for prefix, platform, devices in _PLUGIN_PLATFORMS:
      if name.startswith(prefix):
        if platform not in platforms and _any_exists(devices):
          platforms.append(platform)
        break
    else:
      return None
  return platforms + ['cpu']


def skip_absent_tpu(environ: MutableMapping[str, str] = os.environ) -> Optional[str]:
  """Sets JAX_PLATFORMS to the platforms other than the TPU when libtpu is installed and no TPU
  is present; returns the value set, or None when it leaves JAX alone: JAX_PLATFORMS already set
  (the user's choice, even empty), no libtpu, a TPU present, or a JAX plugin of unknown kind.
  Takes effect when it runs before jax is imported (or, later, before jax's first computation)."""
  if 'JAX_PLATFORMS' in environ or not libtpu_installed(environ) or tpu_present():
    return None
  platforms = other_platforms()
  if platforms is None:
    return None
  value = ','.join(platforms)
  environ['JAX_PLATFORMS'] = value
  jax_config = getattr(sys.modules.get('jax'), 'config', None)
  if jax_config is not None and environ is os.environ:  # jax was imported first
    jax_config.update('jax_platforms', value)
  return value
