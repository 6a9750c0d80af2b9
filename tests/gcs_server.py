"""A local Google Cloud Storage server for the tests: gcp-storage-emulator in its own process.

  python tests/gcs_server.py --data-dir DIR --bucket NAME [--port PORT]

prints `port N` once it serves http://127.0.0.1:N (PORT 0 or omitted: a free port) and keeps the
objects in DIR, so a server stopped and started again on the same DIR and port serves them again.

Five things real GCS does, and the code under test relies on, are added in front of the
emulator's own handlers (it lacks them):
- an upload with the precondition ifGenerationMatch=N is refused with HTTP 412 unless the object's
  generation is N (0: the object must not exist). The run lock's create-if-absent rests on it,
  and TensorStore's OCDBT manifest updates (Orbax checkpoints) use it too;
- a download carries the object's generation in the header x-goog-generation, which TensorStore
  reads to make those conditional writes (without it, they fail with "Malformed
  StorageGeneration");
- a request body sent chunked is read as chunks even when a Content-Length header comes with it
  (HTTP/1.1: Transfer-Encoding wins; TensorFlow's uploads send both);
- objects.move (`.../o/SRC/moveTo/o/DST`, what gcsfs renames with, e.g. TFDS's finished
  dataset folder) as a copy and a delete;
- a resumable upload's session URL is https:// when the request came for a *.googleapis.com
  host (TensorFlow's GCS client through tests/gcs_tls_relay.py uploads to that URL).
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


def _generation(storage, bucket: str, name: str) -> str:
  """The object's generation, '0' when it does not exist."""
  try:
    return str(storage.get_file_obj(bucket, name)['generation'])
  except NotFound:
    return '0'


def _insert_with_precondition(request, response, storage, *args, **kwargs):
  """objects.insert, refusing with 412 when ifGenerationMatch is not the object's generation."""
  wanted = request.query.get('ifGenerationMatch')
  if wanted and 'upload_id' not in request.query:
    current = _generation(storage, request.params['bucket_name'], _upload_name(request))
    if current != wanted[0]:
      response.status = HTTPStatus.PRECONDITION_FAILED
      response.json({'error': {'code': 412, 'message': 'At least one of the pre-conditions you '
                               'specified did not hold.', 'errors': [
                                   {'reason': 'conditionNotMet'}]}})
      return None
  result = _emulator_insert(request, response, storage, *args, **kwargs)
  _https_session_url(request, response)
  return result


def _https_session_url(request, response) -> None:
  """A resumable upload's session URL on a Google host is https:// as on GCS (the emulator
  builds it as http:// from the Host header; tests/gcs_tls_relay.py brings such requests)."""
  location = response._headers.get('Location', '')  # pylint: disable=protected-access
  host = request.get_header('Host', '') or ''
  if location.startswith('http://') and host.split(':')[0].endswith('.googleapis.com'):
    response['Location'] = 'https://' + location[len('http://'):]


def _download_with_generation(request, response, storage, *args, **kwargs):
  """objects.download, with the x-goog-generation header of GCS."""
  _emulator_download(request, response, storage, *args, **kwargs)
  if response.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT):
    bucket, name = request.params.get('bucket_name'), request.params.get('object_id')
    generation = _generation(storage, bucket, name) if bucket and name else '0'
    if generation != '0':
      response['x-goog-generation'] = generation
      response['x-goog-metageneration'] = '1'


def _read_body(request_handler):
  """The request body: chunked when Transfer-Encoding says so, else Content-Length bytes."""
  if (request_handler.headers.get('Transfer-Encoding') or '').lower() == 'chunked':
    del request_handler.headers['Content-Length']
  return _emulator_read_body(request_handler)


def _move(request, response, storage, *args, **kwargs):
  """objects.move within a bucket: the emulator's copy, then the source deleted."""
  del args, kwargs
  params = request.params
  params['dest_bucket_name'] = params['bucket_name']
  objects.copy(request, response, storage)
  if response.status == HTTPStatus.OK:
    storage.delete_file(params['bucket_name'], params['object_id'])


_emulator_insert, _emulator_download = objects.insert, objects.download
objects.insert, objects.download = _insert_with_precondition, _download_with_generation
# pylint: disable-next=g-import-not-at-top,wrong-import-position
from gcp_storage_emulator import server as emulator_server  # its route table reads objects.insert
_emulator_read_body = emulator_server._read_raw_data  # pylint: disable=protected-access
emulator_server._read_raw_data = _read_body  # pylint: disable=protected-access
emulator_server.HANDLERS = tuple(  # the router reads this table at each request
    (rf'^{prefix}/b/(?P<bucket_name>[-.\w]+)/o/(?P<object_id>.*[^/]+)/moveTo/o/'
     r'(?P<dest_object_id>.*[^/]+)$', {'POST': _move})
    for prefix in (emulator_server.settings.API_ENDPOINT, '')) + emulator_server.HANDLERS
create_server = emulator_server.create_server


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
