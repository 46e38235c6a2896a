"""Check cloud-config files with the real ``cloud-init schema`` of the lab node image.

``gough-lab cloudinit validate FILE`` runs ``cloud-init schema --config-file`` in a throw-away container of the
node image (``docker run --rm --network none``, the file mounted read-only), prints cloud-init's own output
and exits with cloud-init's exit status. It follows the validator convention of ``gough.gough.cloudinit_template``
(the file's path is the last argument; status 0 means valid), so it can be its ``validator`` option or the
``GOUGH_CLOUDINIT_VALIDATOR`` environment variable::

    GOUGH_CLOUDINIT_VALIDATOR="/path/to/.venv/bin/gough-lab cloudinit validate"

Messages name the file by its path on this machine, not by its path inside the container. Exit status 125 or
more comes from Docker itself (no engine, image missing); run ``make lab-images`` first. Standard library only.
"""

import os
import subprocess
import sys

from gough_lab import images

CONTAINER_PATH = "/run/gough-lab-check/user-data.yaml"
TIMEOUT = 120


def default_image():
    """The node image: ``GOUGH_LAB_NODE_IMAGE`` or the tag ``gough_lab.images`` builds (gough-lab/node:<suite>)."""
    return os.environ.get("GOUGH_LAB_NODE_IMAGE") or "%s:%s" % (images.NODE_REPO, images.SUITE)


def schema_command(path, image=None):
    """The ``docker run`` argv that validates the host file ``path`` in ``image``."""
    return ["docker", "run", "--rm", "--network", "none", "--label", images.LABEL,
            "-v", "%s:%s:ro" % (os.path.abspath(path), CONTAINER_PATH),
            image or default_image(), "cloud-init", "schema", "--config-file", CONTAINER_PATH]


def validate(path, image=None):
    """Validate ``path``; return ``(exit status, stdout, stderr)`` with the container path shown as ``path``."""
    if not os.path.isfile(path):
        return 2, "", "gough-lab cloudinit validate: %s: no such file\n" % path
    try:
        result = subprocess.run(schema_command(path, image), capture_output=True, text=True, timeout=TIMEOUT,
                                check=False)
    except FileNotFoundError:
        return 127, "", "gough-lab cloudinit validate: the docker command is not installed (make lab-engine)\n"
    except subprocess.TimeoutExpired:
        return 124, "", "gough-lab cloudinit validate: cloud-init schema took more than %d s\n" % TIMEOUT
    return (result.returncode, result.stdout.replace(CONTAINER_PATH, path),
            result.stderr.replace(CONTAINER_PATH, path))


def main(args):
    """``gough-lab cloudinit validate``: pass cloud-init's output and exit status through."""
    status, out, err = validate(args.file, args.image)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status
