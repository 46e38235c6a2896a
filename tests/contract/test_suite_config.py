"""The suite's own rules, checked without a MAAS: how it is configured from the environment, and how it recognises
a MAAS that has no images for an architecture."""

import pytest

from conftest import MAASError
from contract_support import ContractConfig, architecture_refused


def test_no_maas_url_selects_the_emulator():
    """Without MAAS_URL and MAAS_API_KEY the suite runs against the lab's emulator."""
    assert ContractConfig({}).emulated is True
    real = ContractConfig({"MAAS_URL": "https://maas.example.com:5443/MAAS", "MAAS_API_KEY": "a:b:c"})
    assert real.emulated is False and real.ca_path is None and real.spare_tag is None


def test_url_without_key_is_refused():
    """MAAS_URL alone is a mistake, not a reason to test the emulator instead."""
    with pytest.raises(ValueError, match="MAAS_URL and MAAS_API_KEY go together"):
        ContractConfig({"MAAS_URL": "http://maas.example.com:5240/MAAS"})


def test_turning_tls_verification_off_is_refused():
    """The suite never skips TLS verification; it points at MAAS_CA_PATH instead."""
    with pytest.raises(ValueError, match="MAAS_CA_PATH"):
        ContractConfig({"MAAS_URL": "https://m/MAAS", "MAAS_API_KEY": "a:b:c", "MAAS_VALIDATE_CERTS": "false"})


def test_missing_ca_file_is_refused(tmp_path):
    """A CA path that is not a file fails before any request."""
    with pytest.raises(ValueError, match="is not a file"):
        ContractConfig({"MAAS_URL": "https://m/MAAS", "MAAS_API_KEY": "a:b:c", "MAAS_CA_PATH": str(tmp_path / "no")})


def test_fresh_maas_architecture_error_is_recognised():
    """The 400 a fresh MAAS 3.5.13 region gives is read as "no images imported"."""
    message = "'amd64/generic' is not a valid architecture.  It should be one of: ''."
    exc = MAASError("MAAS returned HTTP 400", status=400, field_errors={"architecture": [message]})
    assert architecture_refused(exc) == message


def test_other_errors_are_not_taken_for_missing_images():
    """Another field's 400, or another status, is not the missing-images case."""
    mac = MAASError("x", status=400, field_errors={"mac_addresses": ["'zz' is not a valid MAC address."]})
    assert architecture_refused(mac) is None
    assert architecture_refused(MAASError("x", status=409, maas_message="No machine available.")) is None
