"""Video: io.video round trips, tools/synthesize_blur.py --video against --frames on the same PNGs,
and tools/deblur.py on videos (frame rate, size, frame count, audio, lossless = photo deblur).

Clips are written here from frames the project renders (data.synthetic_scenes), with lossless
codecs (FFV1 in .mkv, libx264rgb at qp 0 in .mp4), so every decoded frame is known exactly.
"""

import fractions
import pathlib

import av
import numpy as np
import pytest

from deepdeblur_jax.data import blur_synthesis, synthetic_scenes
from deepdeblur_jax.io import photos, video
from tests.tool_helpers import (colour_mixing_params, colour_mixing_reference,
                                make_colour_mixing_checkpoint, run_tool)

H, W = 48, 64


def _render(n: int, seed: int = 0, size=(H, W)) -> list:
  scene = synthetic_scenes.make_scene(np.random.default_rng(seed), size, n)
  return [synthetic_scenes.render_frame(scene, t) for t in range(n)]


def _write_clip(path, frames, fps, codec='ffv1', rotation=None, audio_seconds=0.0):
  """Writes `frames` with PyAV directly (not io.video, which is under test), timestamps i/fps;
  optionally a display rotation and an AAC sine track of `audio_seconds`."""
  with av.open(str(path), 'w') as out:
    name, pix_fmt, options = {'ffv1': ('ffv1', 'bgr0', {}),
                              'h264rgb': ('libx264rgb', 'rgb24', {'qp': '0'})}[codec]
    stream = out.add_stream(name, rate=fractions.Fraction(fps), options=options)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = pix_fmt
    if rotation is not None:
      stream.set_display_rotation(rotation)
    audio = None
    if audio_seconds:
      audio = out.add_stream('aac', rate=8000)
      audio.layout = 'mono'
    for i, rgb in enumerate(frames):
      frame = av.VideoFrame.from_ndarray(rgb, format='rgb24')
      frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
      out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
    if audio is not None:
      samples = int(8000 * audio_seconds)
      wave = (0.3 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 8000)).astype(np.float32)
      for start in range(0, samples, 1024):
        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[None, start:start + 1024]),
                                           format='fltp', layout='mono')
        chunk.sample_rate, chunk.pts = 8000, start
        out.mux(audio.encode(chunk))
      out.mux(audio.encode(None))


def _audio_packets(path) -> list:
  with av.open(str(path)) as f:
    if not f.streams.audio:
      return []
    return [bytes(p) for p in f.demux(f.streams.audio[0]) if p.size]


def test_read_frames_rotation_and_range(tmp_path):
  frames = _render(5)
  _write_clip(tmp_path / 'portrait.mkv', frames, 30, rotation=-90)  # a phone held upright
  info = video.probe(tmp_path / 'portrait.mkv')
  assert (info.height, info.width, info.fps, info.rotation) == (W, H, 30, -90)
  got = list(video.read_frames(tmp_path / 'portrait.mkv'))
  assert [f.index for f in got] == [0, 1, 2, 3, 4]
  for f in got:  # -90: turned clockwise for display
    np.testing.assert_array_equal(f.rgb, np.rot90(frames[f.index], -1))
  assert [f.index for f in video.read_frames(tmp_path / 'portrait.mkv', 1, 3)] == [1, 2]
  assert [f.index for f in video.read_frames(tmp_path / 'portrait.mkv', 0.05, 0.1)] == [2]


def test_writer_lossless_and_h264_odd_size(tmp_path):
  frames = _render(4, size=(H - 1, W - 1))  # odd sides: H.264 needs 4:4:4 rather than 4:2:0
  for codec, name in (('ffv1', 'a.mkv'), ('h264rgb', 'b.mp4'), ('h264', 'c.mp4')):
    with video.VideoWriter(tmp_path / name, H - 1, W - 1, fractions.Fraction(24), codec) as w:
      for i, f in enumerate(frames):
        w.write(f, i / 24)
    info = video.probe(tmp_path / name)
    assert (info.height, info.width, info.fps) == (H - 1, W - 1, 24)
    got = [f.rgb for f in video.read_frames(tmp_path / name)]
    assert len(got) == 4
    error = max(np.abs(g.astype(int) - f).mean() for g, f in zip(got, frames))
    # H.264 at CRF 18 in 4:4:4: about 5 levels on these small, detailed frames (measured 5.4)
    assert error == 0 if codec != 'h264' else error < 8.0, (codec, error)
  assert not list(tmp_path.glob('.*partial*'))


def test_unreadable_video_is_named(tmp_path):
  (tmp_path / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42 not really a video')
  with pytest.raises(video.VideoError, match='broken.mp4'):
    video.probe(tmp_path / 'broken.mp4')


def test_synthesize_video_equals_frames(tmp_path):
  frames = _render(24)
  for i, f in enumerate(frames):
    photos.write_png(tmp_path / 'frames' / 'clip' / f'{i:05d}.png', f)
  _write_clip(tmp_path / 'clip.mkv', frames, 240)
  _write_clip(tmp_path / 'slow.mkv', frames[:8], 30)
  (tmp_path / 'broken.mp4').write_bytes(b'garbage')
  common = ['--window', '3-5', '--stride', '4', '--seed', '5']
  ref = run_tool('synthesize_blur', '--frames', tmp_path / 'frames', '--out', tmp_path / 'o1',
                 *common)
  assert ref.returncode == 0, ref.stderr
  got = run_tool('synthesize_blur', '--video', tmp_path / 'clip.mkv', '--video',
                 tmp_path / 'broken.mp4', '--video', tmp_path / 'slow.mkv', '--out',
                 tmp_path / 'o2', *common)
  assert got.returncode == 1  # broken.mp4 failed, named; the others were still written
  assert 'broken.mp4' in got.stderr and 'clip.mkv: 64x48, 240.00 fps' in got.stderr
  assert 'warning' in got.stderr and '30.00 fps is low' in got.stderr
  assert 'warning: ' + str(tmp_path / 'clip.mkv') not in got.stderr
  assert (tmp_path / 'o2' / 'slow' / 'sharp').is_dir()
  _assert_same_pngs(tmp_path / 'o1' / 'clip', tmp_path / 'o2' / 'clip', 5)
  (tmp_path / 'tree' / 'day1').mkdir(parents=True)  # a video inside a --frames tree
  (tmp_path / 'clip.mkv').rename(tmp_path / 'tree' / 'day1' / 'clip.mkv')
  got = run_tool('synthesize_blur', '--frames', tmp_path / 'tree', '--out', tmp_path / 'o5',
                 *common)
  assert got.returncode == 0, got.stderr
  _assert_same_pngs(tmp_path / 'o1' / 'clip', tmp_path / 'o5' / 'day1' / 'clip', 5)
  # --start/--end: frame indices on the frames, seconds (3/240 s <= t < 20/240 s) on the video
  assert blur_synthesis.parse_position('3') == 3 and blur_synthesis.parse_position('0.5s') == 0.5
  window = blur_synthesis.parse_window('3-5')
  ref = blur_synthesis.synthesize_inputs([('clip', tmp_path / 'frames' / 'clip')], tmp_path / 'o3',
                                         window, 4, seed=5, start=3, end=20)
  got = blur_synthesis.synthesize_inputs([('clip', tmp_path / 'tree' / 'day1' / 'clip.mkv')],
                                         tmp_path / 'o4', window, 4, seed=5,
                                         start=blur_synthesis.parse_position('0.0115s'),
                                         end=blur_synthesis.parse_position('0.0815s'))
  assert not ref.failed and not got.failed
  _assert_same_pngs(tmp_path / 'o3' / 'clip', tmp_path / 'o4' / 'clip', 3)


def _assert_same_pngs(a: pathlib.Path, b: pathlib.Path, at_least: int) -> None:
  names = sorted(p.relative_to(a) for p in a.rglob('*.png'))
  assert len(names) >= 3 * at_least
  assert names == sorted(p.relative_to(b) for p in b.rglob('*.png'))
  for name in names:
    assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_deblur_video_cli_keeps_rate_size_count_and_audio(tmp_path):
  frames = _render(7)
  (tmp_path / 'in').mkdir()
  _write_clip(tmp_path / 'in' / 'clip.mp4', frames, 25, codec='h264rgb', audio_seconds=0.28)
  photos.write_png(tmp_path / 'in' / 'photo.png', frames[0])
  (tmp_path / 'in' / 'broken.mkv').write_bytes(b'\x1a\x45\xdf\xa3 not a video')
  make_colour_mixing_checkpoint(tmp_path / 'ckpt', rgb_range=255.0)
  result = run_tool('deblur', '--checkpoint', tmp_path / 'ckpt', '--input', tmp_path / 'in',
                    '--output', tmp_path / 'out', '--compare', '--batch', '1')  # one shape
  assert result.returncode == 1, result.stderr  # broken.mkv is named, the rest written
  assert 'broken.mkv' in result.stderr and 'frames/s' in result.stderr
  source, out = video.probe(tmp_path / 'in' / 'clip.mp4'), video.probe(tmp_path / 'out' / 'clip.mp4')
  assert (out.height, out.width, out.fps, out.has_audio) == (H, W, 25, True)
  with av.open(str(tmp_path / 'out' / 'clip.mp4')) as f:
    assert f.streams.video[0].codec_context.name == 'h264'
  got = [f.rgb for f in video.read_frames(tmp_path / 'out' / 'clip.mp4')]
  assert len(got) == len(frames) == source.frame_count
  assert _audio_packets(tmp_path / 'out' / 'clip.mp4') == _audio_packets(tmp_path / 'in' /
                                                                         'clip.mp4')
  for g, f in zip(got, frames):  # H.264 is near the exact result (4:2:0 chroma on 64x48 detail
    want = np.round(colour_mixing_reference(f / 255.0) * 255.0)  # costs ~10 levels at any CRF;
    assert np.abs(g - want).mean() < 15.0  # a swapped or unmixed channel costs over 40)
  side = [f.rgb for f in video.read_frames(tmp_path / 'out' / 'clip.compare.mp4')]
  assert len(side) == len(frames) and side[0].shape == (H, 2 * W + 8, 3)
  assert (tmp_path / 'out' / 'photo.png').is_file()


def test_lossless_video_equals_photo_deblur(tmp_path):
  """Through the library in-process (no second model load): a folder with an FFV1 clip and its
  frames as PNGs; each decoded output frame equals the PNG deblurred from the same frame."""
  from configs import tiny  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.inference.files import deblur_paths
  from deepdeblur_jax.models import create_generator
  config = tiny.get_config().model
  config.rgb_range = 255.0
  model = create_generator(config)
  frames = _render(5)
  (tmp_path / 'in').mkdir()
  _write_clip(tmp_path / 'in' / 'clip.mkv', frames, 240, rotation=180)
  for i, f in enumerate(frames):
    photos.write_png(tmp_path / 'in' / f'frame{i}.png', np.rot90(f, 2))
  report = deblur_paths(colour_mixing_params(model), model, str(tmp_path / 'in'),
                        str(tmp_path / 'out'), batch=2, video_codec='ffv1')
  assert not report.failed and len(report.written) == 6
  got = list(video.read_frames(tmp_path / 'out' / 'clip.mkv'))
  assert len(got) == 5 and video.probe(tmp_path / 'out' / 'clip.mkv').fps == 240
  for f in got:
    np.testing.assert_array_equal(
        f.rgb, photos.read_rgb_uint8(tmp_path / 'out' / f'frame{f.index}.png'))
