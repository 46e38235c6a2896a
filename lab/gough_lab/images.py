"""Build the lab's Docker images without a registry: ``python -m gough_lab.images build``.

* ``gough-lab/debian-base:<suite>``: a Debian root file system made by ``debootstrap --variant=minbase`` and
  ``docker import``-ed. The tarball is cached under ``~/.cache/gough-lab/`` keyed by suite, mirror, variant and
  package list, so a second build (or a wiped engine) does not run debootstrap again. The Debian mirror is the one
  this machine's apt uses (``host_debian_mirror``); ``--mirror`` or ``GOUGH_LAB_DEBIAN_MIRROR`` overrides it.
* ``gough-lab/node:<suite>``: ``lab/images/node/Dockerfile`` on that base: systemd as PID 1, cloud-init with the
  NoCloud datasource only, sshd, python3.
* ``gough-lab/<name>:<suite>`` for every other ``lab/images/<name>/Dockerfile`` in ``SERVICE_IMAGES`` (the
  stack role's lab profile: ``emulators``, ``nginx``, ``prometheus``, ``journal``), on the same base. ``SERVICE_EXTRAS`` adds
  files from elsewhere in lab/ to a context (the emulators image gets the ``gough_lab`` package).

Every image also gets a content tag (``<suite>-<hash of its inputs>``); when that tag exists the build is skipped
and only the moving tag is pointed at it. Standard library only; it drives the ``docker`` CLI.
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES_DIR = os.path.join(LAB_ROOT, "images")
SUITE = "trixie"
MIRROR_ENV = "GOUGH_LAB_DEBIAN_MIRROR"
# Debian's release names and aliases: a source whose suites include one of these serves the main archive (not
# -security, -updates, backports or a third-party repository).
DEBIAN_SUITES = frozenset(("buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid", "oldoldstable",
                           "oldstable", "stable", "testing", "unstable"))
VARIANT = "minbase"
BASE_PACKAGES = ()  # extra --include packages for debootstrap; the node image installs the rest with apt
BASE_REPO = "gough-lab/debian-base"
NODE_REPO = "gough-lab/node"
LABEL = "gough-lab=1"
# Bump when the way the base tarball is made changes (it is part of the cache key).
BASE_RECIPE = "1"


class ImageError(RuntimeError):
    """A build step failed."""


class MirrorError(ImageError):
    """No Debian mirror could be found in the apt configuration and none was given."""


def _deb822_stanzas(text):
    """Yield the stanzas of a deb822 ``.sources`` file as dicts (lower-case keys; continuation lines joined)."""
    stanza, key = {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in " \t" and key:
            stanza[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            stanza[key] = value.strip()


def _one_line_sources(text):
    """Yield ``(uri, suite)`` for every ``deb`` line of a one-line-style ``.list`` file (``[options]`` skipped)."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            yield words[0], words[1]


def _apt_sources(root):
    """Yield ``(uri, suite)`` for every enabled binary source in apt's configuration under ``root``, in apt's order."""
    main = os.path.join(root, "etc/apt/sources.list")
    parts = os.path.join(root, "etc/apt/sources.list.d")
    files = ([main] if os.path.isfile(main) else []) + sorted(
        glob.glob(os.path.join(parts, "*.list")) + glob.glob(os.path.join(parts, "*.sources")))
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if path.endswith(".list"):
            yield from _one_line_sources(text)
            continue
        for stanza in _deb822_stanzas(text):
            if stanza.get("enabled", "yes").lower() in ("no", "false", "0"):
                continue
            if "deb" not in stanza.get("types", "").split():
                continue
            for uri in stanza.get("uris", "").split():
                for suite in stanza.get("suites", "").split():
                    yield uri, suite


def host_debian_mirror(root="/"):
    """The Debian archive URI this machine's apt uses: the first enabled ``deb`` source of a Debian release.

    Reads ``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/*.list`` (one-line style) and ``*.sources``
    (deb822), skipping disabled stanzas, ``deb-src``, suites that are not a Debian release name (``-security``,
    ``-updates``, backports, third-party repositories) and URIs debootstrap cannot fetch from. Raises
    MirrorError when there is none, naming the override.
    """
    for uri, suite in _apt_sources(root):
        if suite in DEBIAN_SUITES and uri.split(":", 1)[0] in ("http", "https", "file"):
            return uri.rstrip("/")
    raise MirrorError("no Debian archive found in %s's apt sources (sources.list, sources.list.d/*.list, *.sources);"
                      " give one with --mirror URI or %s=URI" % (os.path.join(root, "etc/apt"), MIRROR_ENV))


def default_mirror(root="/"):
    """The mirror to build from: ``$GOUGH_LAB_DEBIAN_MIRROR`` when set, else ``host_debian_mirror(root)``."""
    return os.environ.get(MIRROR_ENV) or host_debian_mirror(root)


def cache_dir():
    """Where debootstrap tarballs are kept (``$XDG_CACHE_HOME/gough-lab`` or ``~/.cache/gough-lab``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "gough-lab")


def _docker_env():
    env = dict(os.environ)
    # The classic builder works with every engine and client here; BuildKit needs the buildx plugin.
    env.setdefault("DOCKER_BUILDKIT", "0")
    return env


def _run(command, **kwargs):
    kwargs.setdefault("env", _docker_env())
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise ImageError("%s failed (exit %d):\n%s" % (" ".join(command[:3]), result.returncode, output))
    return result.stdout


def image_exists(ref):
    """True when the engine has an image called ``ref``."""
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0


def _log(message):
    print("gough-lab images: %s" % message, flush=True)


def base_key(suite, mirror, packages=BASE_PACKAGES):
    """The content key of the base image: what debootstrap would produce from these inputs."""
    text = "\n".join([BASE_RECIPE, suite, mirror, VARIANT] + sorted(packages))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _tree_digest(path):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            digest.update(os.path.relpath(full, path).encode() + b"\0")
            with open(full, "rb") as handle:
                digest.update(handle.read())
            digest.update(b"\0")
    return digest.hexdigest()


def node_key(base_ref, context):
    """The content key of the node image: the base image's id and every file of the build context."""
    base_id = _run(["docker", "image", "inspect", "--format", "{{.Id}}", base_ref]).strip()
    return hashlib.sha256((base_id + "\n" + _tree_digest(context)).encode()).hexdigest()[:12]


def rootfs_tarball(suite, mirror, packages=BASE_PACKAGES):
    """Return the cached debootstrap tarball for these inputs, running debootstrap when there is none."""
    target = os.path.join(cache_dir(), "debian-%s-%s-%s.tar" % (suite, VARIANT, base_key(suite, mirror, packages)))
    if os.path.exists(target):
        _log("debootstrap cache hit: %s" % target)
        return target
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (make lab-engine installs it)")
    os.makedirs(cache_dir(), exist_ok=True)
    work = tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir())
    try:
        rootfs = os.path.join(work, "rootfs")
        command = ["debootstrap", "--variant=%s" % VARIANT]
        if packages:
            command.append("--include=%s" % ",".join(packages))
        command += [suite, rootfs, mirror]
        started = time.monotonic()
        _log("debootstrap %s (%s) from %s" % (suite, VARIANT, mirror))
        _run(command)
        _log("debootstrap took %.1f s" % (time.monotonic() - started))
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in os.listdir(os.path.join(rootfs, junk)):
                full = os.path.join(rootfs, junk, entry)
                if os.path.isfile(full) and entry != "lock":
                    os.unlink(full)
        partial = target + ".partial"
        _run(["tar", "--numeric-owner", "--xattrs", "-C", rootfs, "-cf", partial, "."])
        os.replace(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _tag(source, ref):
    _run(["docker", "tag", source, ref])


def build_base(suite=SUITE, mirror=None, force=False):
    """Import the debootstrap root file system as ``gough-lab/debian-base:<suite>``; return the image ref.

    ``mirror`` None means ``default_mirror()`` (the override, else this machine's apt configuration).
    """
    mirror = mirror or default_mirror()
    ref = "%s:%s" % (BASE_REPO, suite)
    pinned = "%s:%s-%s" % (BASE_REPO, suite, base_key(suite, mirror))
    if image_exists(pinned) and not force:
        _log("%s is up to date (%s)" % (ref, pinned))
        _tag(pinned, ref)
        return ref
    tarball = rootfs_tarball(suite, mirror)
    started = time.monotonic()
    _run(["docker", "import", "--change", "LABEL %s" % LABEL, "--change", 'CMD ["/bin/bash"]',
          "--change", "ENV LANG=C.UTF-8", tarball, pinned])
    _tag(pinned, ref)
    _log("imported %s in %.1f s" % (pinned, time.monotonic() - started))
    return ref


def build_node(suite=SUITE, base_ref=None, force=False):
    """Build ``gough-lab/node:<suite>`` from lab/images/node on the base image; return the image ref."""
    base_ref = base_ref or "%s:%s" % (BASE_REPO, suite)
    context = os.path.join(IMAGES_DIR, "node")
    ref = "%s:%s" % (NODE_REPO, suite)
    pinned = "%s:%s-%s" % (NODE_REPO, suite, node_key(base_ref, context))
    if image_exists(pinned) and not force:
        _log("%s is up to date (%s)" % (ref, pinned))
        _tag(pinned, ref)
        return ref
    started = time.monotonic()
    _log("building %s" % pinned)
    _run(["docker", "build", "--quiet", "--build-arg", "BASE=%s" % base_ref, "--label", LABEL, "-t", pinned, context])
    _tag(pinned, ref)
    _log("built %s in %.1f s" % (pinned, time.monotonic() - started))
    return ref


# Images of the stack role's lab profile (roles/stack, stack_profile: lab): lab/images/<name>/ on the base image.
SERVICE_IMAGES = ("emulators", "nginx", "prometheus", "journal")
# Extra context entries: name in the context -> path under lab/ (copied without __pycache__).
SERVICE_EXTRAS = {"emulators": {"gough_lab": "gough_lab"}}


def _service_context(name, work):
    """Lay out the build context of lab/images/<name> (plus its SERVICE_EXTRAS) under ``work``; return its path."""
    source = os.path.join(IMAGES_DIR, name)
    if not os.path.isfile(os.path.join(source, "Dockerfile")):
        raise ImageError("no Dockerfile in %s" % source)
    context = os.path.join(work, name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source, context, ignore=ignore)
    for target, relative in SERVICE_EXTRAS.get(name, {}).items():
        shutil.copytree(os.path.join(LAB_ROOT, relative), os.path.join(context, target), ignore=ignore)
    return context


def content_ref(name, suite=SUITE, base_ref=None):
    """The content tag (``gough-lab/<name>:<suite>-<hash>``) these sources of lab/images/<name> build to.

    Tests and checks use it instead of the moving ``:<suite>`` tag, which another checkout building on the same
    engine may point at different sources; the image exists when ``make lab-images`` ran on these sources.
    """
    base_ref = base_ref or "%s:%s" % (BASE_REPO, suite)
    if name == "node":
        return "%s:%s-%s" % (NODE_REPO, suite, node_key(base_ref, os.path.join(IMAGES_DIR, "node")))
    work = tempfile.mkdtemp(prefix="gough-lab-context-")
    try:
        return "gough-lab/%s:%s-%s" % (name, suite, node_key(base_ref, _service_context(name, work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_context_image(name, suite=SUITE, base_ref=None, force=False):
    """Build ``gough-lab/<name>:<suite>`` from lab/images/<name> (plus its SERVICE_EXTRAS); return the ref."""
    base_ref = base_ref or "%s:%s" % (BASE_REPO, suite)
    ref = "gough-lab/%s:%s" % (name, suite)
    work = tempfile.mkdtemp(prefix="gough-lab-context-")
    try:
        context = _service_context(name, work)
        pinned = "%s-%s" % (ref, node_key(base_ref, context))
        if image_exists(pinned) and not force:
            _log("%s is up to date (%s)" % (ref, pinned))
            _tag(pinned, ref)
            return ref
        started = time.monotonic()
        _log("building %s" % pinned)
        _run(["docker", "build", "--quiet", "--build-arg", "BASE=%s" % base_ref, "--label", LABEL, "-t", pinned,
              context])
        _tag(pinned, ref)
        _log("built %s in %.1f s" % (pinned, time.monotonic() - started))
        return ref
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_all(suite=SUITE, mirror=None, force=False, services=True):
    """Build (or confirm) the base and node images and, with ``services``, the stack's lab images.

    Returns the node image ref (what the lab node tests use).
    """
    base = build_base(suite, mirror, force=force)
    node = build_node(suite, base, force=force)
    if services:
        for name in SERVICE_IMAGES:
            build_context_image(name, suite, base, force=force)
    return node


def main(argv=None):
    """``python -m gough_lab.images build [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m gough_lab.images", description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=("build",))
    parser.add_argument("--suite", default=SUITE)
    parser.add_argument("--mirror", help="Debian archive URI for debootstrap (default: $%s, else the first Debian"
                        " release source in this machine's apt configuration)" % MIRROR_ENV)
    parser.add_argument("--force", action="store_true", help="rebuild even when the content tags exist")
    parser.add_argument("--no-services", dest="services", action="store_false",
                        help="only the base and node images, not the stack's lab images (%s)" % ", ".join(SERVICE_IMAGES))
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        ref = build_all(args.suite, args.mirror, force=args.force, services=args.services)
    except ImageError as exc:
        print("gough-lab images: %s" % exc, file=sys.stderr)
        return 1
    _log("%s ready in %.1f s" % (ref, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
