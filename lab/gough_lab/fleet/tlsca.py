"""The emulator's lab CA and server certificate (``cryptography``), created in the state directory on first start.

Files: ``ca.crt`` (0644) and ``ca.key`` (0600) of the lab CA, ``server.crt`` and ``server.key`` (0600). The server
certificate is re-issued (by the same CA) when the wanted subject alternative names change, e.g. a new --tls-san.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_SANS = ("127.0.0.1", "localhost")


def _write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _general_name(text):
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _create_ca(state_dir):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gough lab Fleet CA %s" % os.urandom(4).hex())])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write(os.path.join(state_dir, "ca.key"), _key_pem(key), 0o600)
    _write(os.path.join(state_dir, "ca.crt"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _load_ca(state_dir):
    with open(os.path.join(state_dir, "ca.crt"), "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(state_dir, "ca.key"), "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return cert, key


def _current_sans(path):
    try:
        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=1):
        return None
    return sorted(str(n.value) for n in names)


def ensure_certificates(state_dir, extra_sans=()):
    """Create (or reuse) the lab CA and a server certificate for 127.0.0.1, localhost and ``extra_sans``.

    Returns (server_cert_path, server_key_path, ca_cert_path).
    """
    ca_crt = os.path.join(state_dir, "ca.crt")
    server_crt = os.path.join(state_dir, "server.crt")
    server_key = os.path.join(state_dir, "server.key")
    if os.path.exists(ca_crt) and os.path.exists(os.path.join(state_dir, "ca.key")):
        ca_cert, ca_key = _load_ca(state_dir)
        fresh_ca = False
    else:
        ca_cert, ca_key = _create_ca(state_dir)
        fresh_ca = True
    wanted = []
    for san in list(DEFAULT_SANS) + list(extra_sans):
        if san and san not in wanted:
            wanted.append(san)
    general = [_general_name(san) for san in wanted]
    if not fresh_ca and os.path.exists(server_key) and _current_sans(server_crt) == sorted(str(g.value) for g in general):
        return server_crt, server_key, ca_crt
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(general), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(server_key, _key_pem(key), 0o600)
    _write(server_crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return server_crt, server_key, ca_crt
