"""Give ansible-test the pip bootstrap script it would otherwise download from a host we cannot reach.

ansible-test runs ~/.ansible/test/cache/get_pip_<pip version>.py, if present, instead of downloading
get-pip.py. The script written here bootstraps pip from the interpreter's own ensurepip, then installs
what ansible-test asked for (the pinned pip) from the configured package index.
"""

import os
import sys

SCRIPT = '''"""pip bootstrap for ansible-test, written by Gough's `make setup` (tools/write_get_pip.py)."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
# ensurepip sets PIP_CONFIG_FILE to /dev/null, which would hide the machine's pip configuration.
os.environ.pop("PIP_CONFIG_FILE", None)
# --no-setuptools and --no-wheel are get-pip.py options that pip itself does not know.
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if ARGS:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + ARGS)
'''


def main():
    """Write the bootstrap script for the pip version this ansible-test pins."""
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

    class _Python:  # get_venv_packages only reads .version
        version = "%d.%d" % sys.version_info[:2]

    pip_version = get_venv_packages(_Python())["pip"]
    cache = os.path.expanduser("~/.ansible/test/cache")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "get_pip_%s.py" % pip_version.replace(".", "_"))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(SCRIPT)
    os.replace(tmp, path)
    print("ansible-test pip bootstrap: %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
