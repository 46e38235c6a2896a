"""``gough-lab``: command line of Gough's lab (``gough-lab maas serve ...``)."""

import argparse
import logging
import sys

from gough_lab.common.cli import add_fault_arguments, add_state_commands, serve_until_signal
from gough_lab.common.cli import listen_address as _listen_address
from gough_lab.common.cli import rate as _rate
from gough_lab.common.cli import seconds as _seconds


def _boot_images(text):
    """``focal,jammy`` -> ("focal", "jammy"); ``none`` or empty -> ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    known = ("focal", "jammy", "noble")
    series = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in series if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError("unknown series %s (known: %s, or none)" % (", ".join(unknown), ", ".join(known)))
    return series


def build_parser():
    """The argument parser for every gough-lab command."""
    parser = argparse.ArgumentParser(prog="gough-lab", description="Gough's lab: emulators for trying Gough without hardware.")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="log level on stderr (DEBUG shows every request)")
    services = parser.add_subparsers(dest="service", required=True)
    maas = services.add_parser("maas", help="the MAAS 2.0 REST API emulator")
    maas_commands = maas.add_subparsers(dest="command", required=True)
    serve = maas_commands.add_parser("serve", help="serve the MAAS API until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", type=_listen_address, default=("127.0.0.1", 5240),
                       help="HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:5240)")
    serve.add_argument("--state", required=True, help="state directory: database, API keys and the url file")
    serve.add_argument("--machines", type=int, default=0,
                       help="seed N commissioned Ready machines on first start of an empty state directory")
    serve.add_argument("--seed", type=int, default=1, help="seed for ids, hardware, failures and faults")
    serve.add_argument("--maas-version", choices=("3.5", "3.6"), default="3.6",
                       help="MAAS version to behave as (version-dependent fields and rules; default 3.6)")
    serve.add_argument("--boot-images", type=_boot_images, default="focal,jammy,noble",
                       help="Ubuntu series (amd64) imported on first start of an empty state directory, comma "
                            "separated; 'none' starts like a fresh MAAS, which accepts no architecture until "
                            "POST boot-resources/?op=import (default focal,jammy,noble)")
    timing = serve.add_argument_group("timings (seconds; 0 completes at once)")
    timing.add_argument("--commission-seconds", type=_seconds, default=5.0)
    timing.add_argument("--deploy-seconds", type=_seconds, default=10.0)
    timing.add_argument("--release-seconds", type=_seconds, default=3.0)
    timing.add_argument("--erase-seconds", type=_seconds, default=8.0)
    timing.add_argument("--import-seconds", type=_seconds, default=3.0,
                        help="how long POST boot-resources/?op=import runs")
    faults = add_fault_arguments(serve, "fault injection (rates between 0 and 1, per API request)")
    faults.add_argument("--fail-commission", type=_rate, default=0.0, help="commissionings that end Failed commissioning")
    faults.add_argument("--fail-deploy", type=_rate, default=0.0, help="deployments that end Failed deployment")
    faults.add_argument("--fail-power", type=_rate, default=0.0,
                        help="power actions (deploy, power_on, power_off) that find no rack controller for the BMC: "
                             "503, and a deploy keeps the allocation it made")
    # Lab nodes: deploy into real systemd containers that run cloud-init (gough_lab.maas.docker_backend).
    nodes = serve.add_argument_group("lab nodes (--node-backend docker: deployments boot containers that run cloud-init)")
    nodes.add_argument("--node-backend", choices=("simulated", "docker"), default="simulated",
                       help="simulated: timers and --fail-deploy; docker: boot a lab node per deployment")
    nodes.add_argument("--node-image", default="gough-lab/node:trixie", help="node image (make lab-images)")
    nodes.add_argument("--node-network", default="gough-lab", help="Docker network of the nodes (created if missing)")
    nodes.add_argument("--node-subnet", default=None, help="subnet when creating the network (default 172.30.90.0/24)")
    nodes.add_argument("--node-prefix", default="gough-lab-", help="container name prefix (name = prefix + system_id)")
    nodes.add_argument("--node-timeout", type=_seconds, default=600.0,
                       help="seconds cloud-init may take before the deployment fails")
    serve.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    add_state_commands(maas_commands, "MAAS")
    # cloud-init templates: `cloud-init schema` of the node image checks what cloudinit_template renders.
    cloudinit = services.add_parser("cloudinit", help="cloud-init tools of the lab node image")
    cloudinit_commands = cloudinit.add_subparsers(dest="command", required=True)
    validate = cloudinit_commands.add_parser(
        "validate", help="cloud-init schema --config-file FILE in the node image; its output and exit status")
    validate.add_argument("--image", default=None,
                          help="node image (default: $GOUGH_LAB_NODE_IMAGE, else the one make lab-images builds)")
    validate.add_argument("file", help="cloud-config file to check")
    for module in _service_modules():
        module.add_parser(services)
    return parser


# Services that keep their command line in their own package: each module has add_parser(subparsers), which
# registers `gough-lab <service> ...`, and run(args), which runs it. Listed here so `--help` shows them all.
SERVICE_MODULES = ("gough_lab.fleet.cli", "gough_lab.awx.cli", "gough_lab.sink.cli")


def _service_modules():
    import importlib  # pylint: disable=import-outside-toplevel

    found = []
    for name in SERVICE_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a missing dependency inside the service, not a service that is not there
    return found


def _docker_backend(args, config):
    """The DockerBackend for --node-backend docker, or None (after saying why) when Docker is not ready."""
    from gough_lab import nodes  # pylint: disable=import-outside-toplevel
    from gough_lab.maas.docker_backend import DockerBackend  # pylint: disable=import-outside-toplevel

    driver = nodes.NodeDriver(image=args.node_image, network=args.node_network,
                              subnet=args.node_subnet or nodes.SUBNET, prefix=args.node_prefix, state_dir=args.state)
    backend = DockerBackend(config, args.seed, state_dir=args.state, driver=driver, boot_timeout=args.node_timeout)
    try:
        backend.check()
    except nodes.DockerError as exc:
        print("gough-lab: --node-backend docker: %s" % exc, file=sys.stderr)
        return None
    return backend


def serve_maas(args):
    """Run the MAAS emulator until SIGTERM or SIGINT."""
    # Imported here so `gough-lab --help` stays fast.
    from gough_lab.maas.config import LabConfig  # pylint: disable=import-outside-toplevel
    from gough_lab.maas.server import Emulator  # pylint: disable=import-outside-toplevel

    if bool(args.tls_cert) != bool(args.tls_key):
        print("gough-lab: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    config = LabConfig(
        commission_seconds=args.commission_seconds, deploy_seconds=args.deploy_seconds,
        release_seconds=args.release_seconds, erase_seconds=args.erase_seconds, import_seconds=args.import_seconds,
        fault_503=args.fault_503, fault_502=args.fault_502, fault_429=args.fault_429, fault_reset=args.fault_reset,
        fault_slow=args.fault_slow, slow_seconds=args.slow_seconds, fail_commission=args.fail_commission,
        fail_deploy=args.fail_deploy, fail_power=args.fail_power)
    backend = None
    if args.node_backend == "docker":  # deployments boot lab node containers
        backend = _docker_backend(args, config)
        if backend is None:
            return 1
    emulator = Emulator(args.state, listen=args.listen, seed=args.seed, machines=args.machines, config=config,
                        tls_cert=args.tls_cert, tls_key=args.tls_key, backend=backend,
                        maas_version=args.maas_version, boot_images=args.boot_images)
    return serve_until_signal(emulator, "gough_lab.maas")


def main(argv=None):
    """Entry point of the ``gough-lab`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.service == "maas" and args.command == "serve":
        return serve_maas(args)
    if args.command in ("dump-state", "check-state"):  # backups of the emulators' state (statefile)
        from gough_lab.common import statefile  # pylint: disable=import-outside-toplevel
        return statefile.run(args.service, args.command, args.state, sys.stdout, sys.stderr)
    if args.service == "cloudinit" and args.command == "validate":  # cloud-init template checks
        from gough_lab import cloudinit_check  # pylint: disable=import-outside-toplevel
        return cloudinit_check.main(args)
    for module in _service_modules():
        if getattr(module, "SERVICE", None) == args.service:
            return module.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
