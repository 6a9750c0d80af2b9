"""TensorFlow's own GCS client against the local GCS server: a TLS-terminating relay for the tests.

TensorFlow's GCS file system (tf.io.gfile, tf.data, TFRecord files; used by TFDS for its records
and by TensorBoard for a gs:// logdir) always calls https://www.googleapis.com and
https://storage.googleapis.com and has no endpoint setting, so STORAGE_EMULATOR_HOST does not
reach it. It does honour the standard proxy variables and CURL_CA_BUNDLE of its libcurl, and
GOOGLE_AUTH_TOKEN_FOR_TESTING for its credentials. This relay is the proxy: it answers
`CONNECT *.googleapis.com:443`, completes the TLS handshake with a certificate for those names
signed by a throwaway authority (written to a file for CURL_CA_BUNDLE), and relays the decrypted
bytes unchanged to the local server (tests/gcs_server.py), which then serves TensorFlow the same
objects that gcsfs and TensorStore see.

  python tests/gcs_tls_relay.py --upstream-port N --certs DIR [--port PORT]

prints `port N` once it listens; `environ(port, DIR)` is what a process then needs. It runs in
a process of its own: TensorFlow holds Python's lock during some of its requests (closing a
TFRecordWriter), so a relay thread in the same process would wait for the request it serves.
"""

import argparse
import asyncio
import datetime
import ipaddress
import pathlib
import ssl
from typing import Dict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMES = ('www.googleapis.com', 'storage.googleapis.com', 'oauth2.googleapis.com')


def _name(common: str) -> x509.Name:
  return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def write_certificates(folder: pathlib.Path) -> Dict[str, pathlib.Path]:
  """A throwaway authority and a server certificate for NAMES; returns their PEM files
  ('ca', 'cert', 'key')."""
  folder.mkdir(parents=True, exist_ok=True)
  now = datetime.datetime.now(datetime.timezone.utc)
  valid = dict(not_valid_before=now - datetime.timedelta(days=1),
               not_valid_after=now + datetime.timedelta(days=7))
  ca_key = ec.generate_private_key(ec.SECP256R1())
  ca = (x509.CertificateBuilder(**valid).subject_name(_name('deepdeblur-jax test authority'))
        .issuer_name(_name('deepdeblur-jax test authority')).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256()))
  key = ec.generate_private_key(ec.SECP256R1())
  names = [x509.DNSName(n) for n in NAMES] + [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]
  cert = (x509.CertificateBuilder(**valid).subject_name(_name(NAMES[0])).issuer_name(ca.subject)
          .public_key(key.public_key()).serial_number(x509.random_serial_number())
          .add_extension(x509.SubjectAlternativeName(names), critical=False)
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
  files = {'ca': folder / 'ca.pem', 'cert': folder / 'cert.pem', 'key': folder / 'key.pem'}
  files['ca'].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
  files['cert'].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
  files['key'].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
  return files


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
  """Copies bytes until the reader ends, then ends the writer."""
  try:
    while data := await reader.read(1 << 16):
      writer.write(data)
      await writer.drain()
  except (ConnectionError, ssl.SSLError, OSError):
    pass
  finally:
    try:
      writer.close()
    except (ConnectionError, ssl.SSLError, OSError, RuntimeError):
      pass


async def _relay(upstream_port: int, tls: ssl.SSLContext, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
  """One client: a CONNECT to one of NAMES, the TLS handshake, then bytes both ways."""
  try:
    head = await reader.readuntil(b'\r\n\r\n')
    method, target = head.split(b' ')[:2]
    if method != b'CONNECT' or target.decode().rsplit(':', 1)[0] not in NAMES:
      writer.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
      await writer.drain()
      writer.close()
      return
    writer.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
    await writer.drain()
    await writer.start_tls(tls)
    up_reader, up_writer = await asyncio.open_connection('127.0.0.1', upstream_port)
  except (ConnectionError, ssl.SSLError, OSError, asyncio.IncompleteReadError,
          asyncio.LimitOverrunError, ValueError):
    writer.close()
    return
  await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def serve(upstream_port: int, folder: pathlib.Path, port: int = 0) -> None:
  """Writes the certificates into `folder`, prints `port N` and relays until killed."""
  files = write_certificates(folder)
  tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
  tls.load_cert_chain(files['cert'], files['key'])
  server = await asyncio.start_server(
      lambda r, w: _relay(upstream_port, tls, r, w), '127.0.0.1', port)
  print(f'port {server.sockets[0].getsockname()[1]}', flush=True)
  async with server:
    await server.serve_forever()


def environ(port: int, folder: pathlib.Path) -> Dict[str, str]:
  """What a process needs for TensorFlow's GCS client to reach the server behind the relay on
  `port` (certificates in `folder`)."""
  proxy = f'http://127.0.0.1:{port}'
  direct = '127.0.0.1,localhost'  # the local servers themselves are reached directly
  return {'https_proxy': proxy, 'HTTPS_PROXY': proxy, 'no_proxy': direct, 'NO_PROXY': direct,
          'CURL_CA_BUNDLE': str(pathlib.Path(folder) / 'ca.pem'),
          'GOOGLE_AUTH_TOKEN_FOR_TESTING': 'emulator'}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--upstream-port', type=int, required=True,
                      help='port of the local GCS server (tests/gcs_server.py) on 127.0.0.1')
  parser.add_argument('--certs', required=True, help='folder for the certificates')
  parser.add_argument('--port', type=int, default=0)
  args = parser.parse_args()
  try:
    asyncio.run(serve(args.upstream_port, pathlib.Path(args.certs), args.port))
  except KeyboardInterrupt:
    pass


if __name__ == '__main__':
  main()
