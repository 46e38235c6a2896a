"""The node image: cloud-init 25.x and its schema validator, which the template tests rely on."""

import re

from conftest import run_in_image


def test_cloud_init_version(engine):
    result = run_in_image(engine, "cloud-init", "--version")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b25\.\d+", result.stdout + result.stderr), result.stdout + result.stderr


def test_schema_accepts_good_config(engine, tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("#cloud-config\nhostname: n1\nwrite_files:\n  - path: /etc/motd\n    content: hello\n")
    result = run_in_image(engine, "cloud-init", "schema", "-c", "/tmp/x.yml", files={"/tmp/x.yml": good})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid schema" in result.stdout


def test_schema_rejects_bad_config(engine, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("#cloud-config\nruncmd: 5\n")
    result = run_in_image(engine, "cloud-init", "schema", "-c", "/tmp/x.yml", files={"/tmp/x.yml": bad})
    assert result.returncode != 0
    assert "runcmd" in result.stdout + result.stderr
