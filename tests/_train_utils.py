"""Shared helpers for the training tests: tiny configs and running Python subprocesses."""

import os
import struct
import subprocess
import sys

from tensorboardX.proto import event_pb2

from configs import tiny

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(**overrides):
  """configs/tiny.py with top-level field overrides."""
  config = tiny.get_config()
  for key, value in overrides.items():
    config[key] = value
  return config


def run_python(args, env_extra=None, timeout=240):
  """Runs `python args...` from the repository root; returns the CompletedProcess."""
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
  env.update(env_extra or {})
  return subprocess.run([sys.executable] + list(args), cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=timeout, check=False)


def tensorboard_events(logdir):
  """Every Event in the event files of `logdir` (TFRecord framing read directly: 8-byte length,
  4-byte CRC, payload, 4-byte CRC)."""
  events = []
  for name in sorted(os.listdir(logdir)):
    data = open(os.path.join(logdir, name), 'rb').read()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack('<Q', data[pos:pos + 8])
      events.append(event_pb2.Event.FromString(data[pos + 12:pos + 12 + length]))
      pos += 12 + length + 4
  return events


def tensorboard_texts(logdir):
  """{tag: [text, ...]} of every text summary in the event files of `logdir`."""
  texts = {}
  for event in tensorboard_events(logdir):
    for value in event.summary.value:
      if value.metadata.plugin_data.plugin_name == 'text':
        tag = value.tag.replace('/text_summary', '')
        texts.setdefault(tag, []).append(value.tensor.string_val[0].decode())
  return texts
