"""A local Google Cloud Storage server for the tests: gcp-storage-emulator in its own process.

  python tests/gcs_server.py --data-dir DIR --bucket NAME [--port PORT]

prints `port N` once it serves http://127.0.0.1:N (PORT 0 or omitted: a free port) and keeps the
objects in DIR, so a server stopped and started again on the same DIR and port serves them again.

The emulator ignores upload preconditions; real GCS refuses an upload with ifGenerationMatch=0
when the object exists (HTTP 412), which is what makes the run lock's create-if-absent atomic.
That one rule is added here, in front of the emulator's own upload handler, for multipart
uploads (gcsfs's, as the lock makes), so that the tests exercise the lock against the server
behaviour it relies on. TensorStore's media uploads are left to the emulator as it is: with the
rule applied to them too, its OCDBT manifest updates fail against this emulator ("Malformed
StorageGeneration"), while the emulator as it stands serves Orbax's saves and restores.
"""

import argparse
import sys
import time
from http import HTTPStatus

from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects


def _upload_name(request) -> str:
  """The object name of an upload request (query `name`, else the multipart metadata's)."""
  if 'name' in request.query:
    return request.query['name'][0]
  data = request.data
  if isinstance(data, dict):
    meta = data.get('meta') if isinstance(data.get('meta'), dict) else data
    return meta.get('name', '')
  return ''


def _insert_with_precondition(request, response, storage, *args, **kwargs):
  """objects.insert, refusing a multipart upload with 412 when ifGenerationMatch=0 and the
  object exists."""
  if (request.query.get('ifGenerationMatch') == ['0'] and
      request.query.get('uploadType') == ['multipart']):
    try:
      storage.get_file_obj(request.params['bucket_name'], _upload_name(request))
    except NotFound:
      pass
    else:
      response.status = HTTPStatus.PRECONDITION_FAILED
      response.json({'error': {'code': 412, 'message': 'At least one of the pre-conditions you '
                               'specified did not hold.', 'errors': [
                                   {'reason': 'conditionNotMet'}]}})
      return None
  return _emulator_insert(request, response, storage, *args, **kwargs)


_emulator_insert = objects.insert
objects.insert = _insert_with_precondition
# pylint: disable-next=g-import-not-at-top,wrong-import-position
from gcp_storage_emulator.server import create_server  # its route table reads objects.insert


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--data-dir', required=True)
  parser.add_argument('--bucket', required=True)
  parser.add_argument('--port', type=int, default=0)
  args = parser.parse_args()
  server = create_server('127.0.0.1', args.port, in_memory=False, default_bucket=args.bucket,
                         data_dir=args.data_dir)
  server.start()
  print(f'port {server._api._httpd.server_address[1]}', flush=True)  # pylint: disable=protected-access
  try:
    while True:
      time.sleep(3600)
  except KeyboardInterrupt:
    pass
  finally:
    server.stop()
  sys.exit(0)


if __name__ == '__main__':
  main()
