"""Start-up contract, anonymous endpoints, routing and lab endpoints of the MAAS emulator."""

import json
import os
import stat

from conftest import MAASClient


def test_state_dir_holds_keys_with_private_modes_and_url(maas_emulator):
    state = maas_emulator.state_dir
    for name in ("api_key", "api_key.user"):
        mode = stat.S_IMODE(os.stat(os.path.join(state, name)).st_mode)
        assert mode == 0o600
    assert maas_emulator.api_key.count(":") == 2
    assert maas_emulator.user_api_key != maas_emulator.api_key
    with open(os.path.join(state, "url"), encoding="utf-8") as handle:
        url = handle.read().strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/MAAS")
    assert maas_emulator.api_url == url + "/api/2.0/"


def test_version_is_anonymous(anon):
    response = anon.get("version/")
    assert response.status == 200
    data = response.json()
    assert data["version"] == "3.6.1" and "authenticate-api" in data["capabilities"] and len(data["capabilities"]) == 9
    assert response.headers["X-MAAS-API-Hash"]


def test_plain_version_endpoint_says_2_0(anon):
    response = anon.get("/MAAS/api/version/")
    assert response.status == 200 and response.body == b"2.0"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_describe_has_libmaas_handlers_and_exact_content_type(anon):
    response = anon.get("describe/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert data["doc"] == "MAAS API" and data["hash"] == response.headers["X-MAAS-API-Hash"]
    handlers = {}
    for resource in data["resources"]:
        assert set(resource) == {"name", "anon", "auth"}
        for handler in (resource["anon"], resource["auth"]):
            if handler:
                assert set(handler) >= {"name", "doc", "params", "path", "uri", "actions"}
                for action in handler["actions"]:
                    assert set(action) == {"name", "method", "op", "restful", "doc"}
                handlers[handler["name"]] = handler
    for name in ("MachinesHandler", "MachineHandler", "AnonMachinesHandler", "TagsHandler", "TagHandler",
                 "ZonesHandler", "ZoneHandler", "ResourcePoolsHandler", "ResourcePoolHandler", "DomainsHandler",
                 "FabricsHandler", "VlansHandler", "SubnetsHandler", "SSHKeysHandler", "BootResourcesHandler",
                 "UsersHandler", "AccountHandler", "EventsHandler", "VersionHandler"):
        assert name in handlers, name
    machine = handlers["MachineHandler"]
    assert machine["params"] == ["system_id"]
    assert machine["path"] == "/MAAS/api/2.0/machines/{system_id}/"
    assert machine["uri"].endswith("/MAAS/api/2.0/machines/{system_id}/") and machine["uri"].startswith("http://127.0.0.1:")
    assert handlers["ResourcePoolHandler"]["path"] == "/MAAS/api/2.0/resourcepool/{id}/"
    assert handlers["VlanHandler"]["params"] == ["fabric_id", "vid"]
    actions = {(a["name"], a["method"], a["op"], a["restful"]) for a in handlers["MachinesHandler"]["actions"]}
    assert ("read", "GET", None, True) in actions and ("allocate", "POST", "allocate", False) in actions


def test_api_1_0_is_gone(anon):
    assert anon.get("/MAAS/api/1.0/nodes/").status == 410


def test_unknown_2_0_path_is_404_with_maas_text(admin):
    response = admin.get("frobnicators/")
    assert response.status == 404
    assert response.text == "Unknown API endpoint: /MAAS/api/2.0/frobnicators/."


def test_wrong_method_op_pair_is_400_unrecognised_signature(admin):
    response = admin.get("machines/", query={"op": "allocate"})
    assert response.status == 400
    assert response.text == "Unrecognised signature: method=GET op=allocate"


def test_anonymous_machine_list_is_400_because_only_enlistment_is_anonymous(anon):
    response = anon.get("machines/")
    assert response.status == 400 and response.text == "Unrecognised signature: method=GET op=None"


def test_anonymous_call_without_anon_handler_is_401_forbidden(anon):
    response = anon.get("tags/")
    assert response.status == 401 and response.text == "Forbidden"


def test_op_may_come_from_body_or_path_suffix(admin):
    by_body = admin.post("machines/", {"op": "allocate", "dry_run": "true"})
    assert by_body.status == 200, by_body
    by_path = admin.post("machines/op-allocate", {"dry_run": "true"})
    assert by_path.status == 200, by_path
    assert by_path.json()["status_name"] == "Ready"


def test_lab_stats_count_requests_by_route_and_op(lab, admin):
    lab.reset_stats()
    sid = admin.get("machines/").json()[0]["system_id"]
    lab.reset_stats()
    admin.get("machines/")
    admin.get("machines/%s/" % sid)
    admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"})
    stats = lab.stats()
    assert stats["requests_total"] == 3
    assert stats["by_method"] == {"GET": 2, "POST": 1}
    assert stats["by_path"]["/MAAS/api/2.0/machines/{system_id}/"] == 2
    assert stats["by_op"]["GET machines/ read"] == 1
    assert stats["by_op"]["POST machines/{system_id}/ deploy"] == 1
    assert stats["writes"] == 1
    assert stats["machine_ops"] == {sid: {"deploy": 1}}
    lab.reset_stats()
    assert lab.stats()["requests_total"] == 0


def test_lab_config_reads_and_changes_settings(lab):
    config = lab.configure(deploy_seconds=0, fault_503=0.25)
    assert config["deploy_seconds"] == 0 and config["fault_503"] == 0.25
    assert lab.config()["fault_503"] == 0.25


def test_lab_config_rejects_unknown_setting(lab):
    client = MAASClient(lab, None)
    response = client.request("PUT", "/_lab/config", raw_body=json.dumps({"nope": 1}).encode(),
                              headers={"Content-Type": "application/json"})
    assert response.status == 400 and "nope" in response.text


def test_sigterm_stops_cleanly_and_removes_url(maas_emulator):
    maas_emulator.stop()
    assert maas_emulator.process.returncode == 0
    assert not os.path.exists(os.path.join(maas_emulator.state_dir, "url"))


def test_tls_serves_https_url(tmp_path):
    import datetime  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    from gough_lab.testing import start_maas_emulator  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    with start_maas_emulator(tmp_path / "tls", extra_args=("--tls-cert", str(cert_file), "--tls-key", str(key_file))) as emulator:
        assert emulator.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert_file))
        context.check_hostname = False
        with urllib.request.urlopen(emulator.api_url + "version/", context=context, timeout=10) as response:
            assert json.loads(response.read())["version"] == "3.6.1"
        assert emulator.stats()["requests_total"] == 1
