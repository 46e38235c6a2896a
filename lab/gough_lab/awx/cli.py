"""``gough-lab awx serve --listen HOST:PORT --state DIR``: the AWX API emulator's command line."""

from gough_lab.common.cli import listen_address
from gough_lab.common.cli import add_state_commands, serve_until_signal

SERVICE = "awx"


def add_parser(subparsers):
    """Register ``gough-lab awx serve``."""
    awx = subparsers.add_parser("awx", help="the AWX v2 REST API emulator (what the awx.awx collection uses)")
    commands = awx.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the AWX API until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", type=listen_address, default=("127.0.0.1", 8052),
                       help="HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:8052)")
    serve.add_argument("--state", required=True,
                       help="state directory: awx.sqlite3, admin.json (admin password), token, url (files 0600)")
    serve.add_argument("--project-checkout", metavar="DIR",
                       help="git repository that git projects' updates check out (at their scm_branch) for SCM URLs "
                            "other than file:// paths (the emulator fetches nothing; without it such updates fail, "
                            "as an update that checked nothing)")
    serve.add_argument("--remote-host-header", action="append", metavar="NAME", dest="remote_host_headers",
                       help="AWX's REMOTE_HOST_HEADERS: where a provisioning callback's address is read, REMOTE_ADDR "
                            "(the peer, the default) or a header such as X-Forwarded-For; repeat for several")
    serve.add_argument("--projects-root", metavar="DIR",
                       help="AWX's PROJECTS_ROOT: manual projects' local_path directories (default STATE/projects)")
    add_state_commands(commands, "AWX")
    return awx


def run(args):
    """Serve until SIGTERM or SIGINT."""
    from .server import Emulator  # pylint: disable=import-outside-toplevel

    if args.command != "serve":
        return 2
    emulator = Emulator(args.state, listen=args.listen, project_checkout=args.project_checkout,
                        projects_root=args.projects_root,
                        remote_host_headers=args.remote_host_headers or ("REMOTE_ADDR",))
    return serve_until_signal(emulator, "gough_lab.awx")
