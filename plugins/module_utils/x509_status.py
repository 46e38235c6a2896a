# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Does a certificate that Gough's CA issued still hold what the stack role's issue_certificate tasks would make?

``findings(wanted, ca_pem)`` reads a host's key, certificate, CA copy and their directory, and returns what
differs from ``wanted``, one sentence each; an empty list means issue_certificate would change nothing. It mirrors
the checks of the community.crypto modules those tasks run, so that a rerun can skip them:

- ``openssl_privatekey`` (``regenerate: full_idempotence``) keeps a key it can read without a passphrase and
  whose type and curve match: here ECC secp256r1.
- ``x509_certificate_pipe`` with the ``ownca`` provider keeps a certificate whose public key, subject and
  extensions (all but the key identifiers) match the CSR ``openssl_csr_pipe`` makes, whose subject key identifier
  is its key's, which the CA's key signed, whose issuer is the CA's subject and whose authority key identifier is
  the CA's. Its timestamps are not compared (``ignore_timestamps`` defaults to true).
- ``file`` and ``copy`` change modes and owners, and ``copy`` a ``ca.crt`` that differs.

Anything not understood here (a SAN type other than DNS and IP, a name that is not ASCII) is a finding too: the
caller then runs the full tasks, which decide. Imports ``cryptography`` only when it is there (``HAS_CRYPTOGRAPHY``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import stat

from ansible_collections.gough.gough.plugins.module_utils.owners import id_of

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

KEY_CURVE = "secp256r1"
MODES = {"directory": 0o755, "key": 0o600, "certificate": 0o644, "ca": 0o644}


class BadCA(ValueError):
    """The CA certificate given is not a PEM certificate."""


def load_ca(ca_pem):
    """Gough's CA certificate from PEM bytes; ``BadCA`` when it is not one."""
    try:
        return x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise BadCA(str(exc))


class Unsupported(ValueError):
    """A wanted value this check does not model; the caller should run the full tasks."""


def _file_findings(path, label, kind, owner, group, is_dir=False, mode=None):
    """Mode (``mode``, else the kind's), owner, group and type of ``path``; a list of sentences, empty when all is
    as wanted."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return ["%s %s cannot be read: %s" % (label, path, exc.strerror)]
    if not (stat.S_ISDIR(info.st_mode) if is_dir else stat.S_ISREG(info.st_mode)):
        return ["%s %s is not a %s" % (label, path, "directory" if is_dir else "regular file")]
    found = []
    mode = MODES[kind] if mode is None else mode
    if stat.S_IMODE(info.st_mode) != mode:
        found.append("%s %s has mode %04o, not %04o" % (label, path, stat.S_IMODE(info.st_mode), mode))
    for what, wanted, actual in (("owner", owner, info.st_uid), ("group", group, info.st_gid)):
        if wanted is not None and id_of(what, wanted) != actual:
            found.append("%s %s has %s %d, not %s" % (label, path, what, actual, wanted))
    return found


def general_name(value):
    """The ``x509.GeneralName`` openssl_csr makes of ``DNS:...`` or ``IP:...``; ``Unsupported`` for the rest."""
    kind, _sep, rest = value.partition(":")
    if kind == "DNS" and rest and all(ord(char) < 128 for char in rest):
        return x509.DNSName(rest)
    if kind == "IP" and rest:
        try:
            return x509.IPAddress(ipaddress.ip_network(rest) if "/" in rest else ipaddress.ip_address(rest))
        except ValueError:
            raise Unsupported("subject alternative name %r is not an IP address" % value)
    raise Unsupported("subject alternative name %r is not a DNS name or IP address this check models" % value)


def wanted_extensions(sans, usage):
    """The extensions of the CSR issue_certificate makes (none critical), by OID."""
    usage_oid = ExtendedKeyUsageOID.SERVER_AUTH if usage == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    values = [x509.BasicConstraints(ca=False, path_length=None),
              x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                            data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                            encipher_only=False, decipher_only=False),
              x509.ExtendedKeyUsage([usage_oid])]
    if sans:
        values.insert(0, x509.SubjectAlternativeName([general_name(name) for name in sans]))
    return dict((value.oid, x509.Extension(value.oid, False, value)) for value in values)


def _signed_by(certificate, issuer_key):
    """True if ``issuer_key`` verifies ``certificate``'s signature."""
    try:
        if isinstance(issuer_key, ec.EllipticCurvePublicKey):
            issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                              ec.ECDSA(certificate.signature_hash_algorithm))
        elif isinstance(issuer_key, rsa.RSAPublicKey):
            issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                              certificate.signature_hash_algorithm)
        else:
            issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes)
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def _authority_key_identifier(ca):
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())


def _der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def certificate_findings(certificate, public_key, wanted, ca):
    """What ``x509_certificate_pipe`` (ownca) would re-issue ``certificate`` for; sentences, empty when none."""
    found = []
    if _der(certificate.public_key()) != _der(public_key):
        found.append("the certificate is not for the private key")
    if certificate.subject != x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted["name"])]):
        found.append("the certificate's subject is %s, not CN=%s"
                     % (certificate.subject.rfc4514_string(), wanted["name"]))
    try:
        expected = wanted_extensions(wanted["sans"], wanted["usage"])
    except Unsupported as exc:
        return found + [str(exc)]
    held = [ext for ext in certificate.extensions
            if not isinstance(ext.value, (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier))]
    if len(held) != len(expected) or any(expected.get(ext.oid) != ext for ext in held):
        found.append("the certificate's extensions (names, usages, constraints) differ from the request")
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        if ski.digest != x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest:
            found.append("the certificate's subject key identifier is not its key's")
    except x509.ExtensionNotFound:
        found.append("the certificate has no subject key identifier")
    if not _signed_by(certificate, ca.public_key()):
        found.append("the certificate was not signed by Gough's CA")
    if certificate.issuer != ca.subject:
        found.append("the certificate's issuer is not Gough's CA")
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        if aki != _authority_key_identifier(ca):
            found.append("the certificate's authority key identifier is not Gough's CA's")
    except x509.ExtensionNotFound:
        found.append("the certificate has no authority key identifier")
    return found


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def findings(wanted, ca_pem):
    """Everything issue_certificate would change for ``wanted``; an empty list when it would change nothing.

    ``wanted``: ``name``, ``sans``, ``usage`` (server or client), ``dest``, ``owner``, ``group``, ``copy_ca``, and
    ``directory_mode`` (an int; 0o755 when not given).
    ``ca_pem``: Gough's CA certificate as the CA host holds it (bytes). Returns ``(findings, certificate)``, the
    parsed certificate when it could be read. ``BadCA`` when ``ca_pem`` is not a PEM certificate."""
    ca = load_ca(ca_pem)
    dest, name, owner, group = wanted["dest"], wanted["name"], wanted.get("owner"), wanted.get("group")
    key_path, cert_path = os.path.join(dest, name + ".key"), os.path.join(dest, name + ".crt")
    found = _file_findings(dest, "directory", "directory", owner, group, is_dir=True,
                           mode=wanted.get("directory_mode"))
    found += _file_findings(key_path, "key", "key", owner, group)
    found += _file_findings(cert_path, "certificate", "certificate", owner, group)
    if wanted.get("copy_ca", True):
        ca_copy = os.path.join(dest, "ca.crt")
        found += _file_findings(ca_copy, "CA copy", "ca", owner, group)
        if os.path.isfile(ca_copy) and _read(ca_copy) != ca_pem:
            found.append("CA copy %s is not Gough's CA certificate" % ca_copy)
    certificate = public_key = None
    try:
        key = serialization.load_pem_private_key(_read(key_path), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != KEY_CURVE:
            found.append("key %s is not an ECC %s key" % (key_path, KEY_CURVE))
        public_key = key.public_key()
    except (OSError, ValueError, TypeError):
        found.append("key %s cannot be read as a private key without a passphrase" % key_path)
    try:
        certificate = x509.load_pem_x509_certificate(_read(cert_path))
    except (OSError, ValueError):
        found.append("certificate %s cannot be read" % cert_path)
    if certificate is not None and public_key is not None:
        found += certificate_findings(certificate, public_key, wanted, ca)
    return found, certificate
