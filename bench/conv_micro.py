"""One 5x5 64->64 convolution at HxH: forward, input gradient and weight gradient, JAX vs PyTorch
(alternating calls, median and min of 7), plus the weight gradient as 25 shifted einsums.

  python bench/conv_micro.py [H]      # default 256

Used for the CPU diagnosis in docs/results.md (where the JAX train step loses time).
"""
import os, time, statistics, sys
import numpy as np, jax, jax.numpy as jnp, torch
torch.set_num_threads(os.cpu_count())
H = int(sys.argv[1]) if len(sys.argv) > 1 else 256
x = np.random.rand(1, H, H, 64).astype(np.float32); w = np.random.rand(5, 5, 64, 64).astype(np.float32) * 0.01
g = np.random.rand(1, H, H, 64).astype(np.float32)
conv = lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), ((2, 2), (2, 2)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
jf = jax.jit(conv)
jdx = jax.jit(lambda x, w, g: jax.vjp(lambda x: conv(x, w), x)[1](g)[0])
jdw = jax.jit(lambda x, w, g: jax.vjp(lambda w: conv(x, w), w)[1](g)[0])


def dw_dots(x, g):
  xp = jnp.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
  return jnp.stack([jnp.stack([jnp.einsum('nhwc,nhwo->co', xp[:, i:i + H, j:j + H, :], g)
                               for j in range(5)]) for i in range(5)])


jdw_dots = jax.jit(dw_dots)
X, W, G = map(jnp.asarray, (x, w, g))
tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
tg = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
tf = lambda: torch.nn.functional.conv2d(tx, tw, padding=2)
def tdx():
  return torch.ops.aten.convolution_backward(tg, tx, tw, None, (1, 1), (2, 2), (1, 1), False, (0, 0), 1, (True, False, False))[0]
def tdw():
  return torch.ops.aten.convolution_backward(tg, tx, tw, None, (1, 1), (2, 2), (1, 1), False, (0, 0), 1, (False, True, False))[1]
cases = {'jax fwd': lambda: jf(X, W).block_until_ready(), 'torch fwd': tf,
         'jax dx': lambda: jdx(X, W, G).block_until_ready(), 'torch dx': tdx,
         'jax dw': lambda: jdw(X, W, G).block_until_ready(), 'torch dw': tdw,
         'jax dw 25 einsums': lambda: jdw_dots(X, G).block_until_ready()}
with torch.no_grad():
  for f in cases.values(): f(); f()
  t = {k: [] for k in cases}
  for _ in range(7):
    for k, f in cases.items():
      s = time.perf_counter(); f(); t[k].append(time.perf_counter() - s)
flop = 2 * H * H * 25 * 64 * 64
for k, v in t.items():
  print(f'{k:18s} median {statistics.median(v)*1e3:8.1f} ms  min {min(v)*1e3:8.1f} ms  {flop/min(v)/1e9:6.0f} GFLOP/s(min)')
print('load', os.getloadavg())
