#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: certificate_status
short_description: Tell whether a host's certificate from Gough's CA is still what issue_certificate would make
version_added: 0.1.0
description:
  - Reads, on the target, the private key, certificate and CA copy that the stack role's C(issue_certificate) tasks
    keep in O(dest), and the directory itself, and reports whether those tasks would change anything. It writes
    nothing.
  - The checks are those of the modules the tasks run. The key must be an ECC secp256r1 key that reads without a
    passphrase (C(community.crypto.openssl_privatekey)). The certificate must be for that key, with subject
    C(CN=<name>), exactly the extensions of the request (the names of O(sans) in order, C(CA:FALSE), key usage
    digitalSignature and keyAgreement, extended key usage serverAuth or clientAuth, none critical), its own subject
    key identifier, and Gough's CA as signer, issuer and authority key identifier
    (C(community.crypto.x509_certificate_pipe), provider C(ownca), which does not compare validity dates).
    The modes must be 0755 (directory), 0600 (key) and 0644 (certificate, C(ca.crt)), with O(owner) and O(group)
    when given, and C(ca.crt) must be byte for byte O(ca_certificate).
  - Anything it does not model, such as a subject alternative name other than C(DNS:) and C(IP:), is reported as a
    finding, so the caller runs the full tasks, which decide.
  - The stack role runs it first in C(issue_certificate) and skips the other tasks when O(ignore:current) is true;
    a rerun then costs one module run a certificate on the stack host, which reads its CA certificate itself
    (O(ca_path)), and two elsewhere (a C(slurp) of the CA certificate first), instead of eight. Renewal
    (C(stack_cert_force)) skips it.
  - With O(certificates) it checks several certificates against the same CA in one run; the stack role asks this
    way for all its service certificates and runs C(issue_certificate) only for those that are not current.
author:
  - Gough developers (@gough)
requirements:
  - cryptography (on the target; the community.crypto modules of issue_certificate need it too)
options:
  name:
    description:
      - Common name of the certificate and base name of its files, C(<dest>/<name>.crt) and C(.key).
      - One of O(name) (with O(usage) and O(dest)) and O(certificates) is required.
    type: str
  sans:
    description: Subject alternative names the certificate must hold, in order, for example V(["DNS:node1", "IP:10.0.0.5"]).
    type: list
    elements: str
    default: []
  usage:
    description: V(server) (extended key usage serverAuth) or V(client) (clientAuth).
    type: str
    choices: [server, client]
  dest:
    description: Absolute directory on the target holding the certificate, key and C(ca.crt).
    type: path
  owner:
    description: Owner the directory and files must have (a name or a uid); not compared when not set.
    type: str
  group:
    description: Group the directory and files must have (a name or a gid); not compared when not set.
    type: str
  directory_mode:
    description: Mode O(dest) must have, as an octal string; the C(issue_certificate) tasks make it V("0755").
    type: str
    default: "0755"
  copy_ca:
    description: Whether C(<dest>/ca.crt) must hold O(ca_certificate).
    type: bool
    default: true
  certificates:
    description:
      - Several certificates to check against the same CA, in place of O(name) and the options that go with it.
    type: list
    elements: dict
    suboptions:
      name:
        description: As O(name).
        type: str
        required: true
      sans:
        description: As O(sans).
        type: list
        elements: str
        default: []
      usage:
        description: As O(usage).
        type: str
        choices: [server, client]
        required: true
      dest:
        description: As O(dest).
        type: path
        required: true
      owner:
        description: As O(owner).
        type: str
      group:
        description: As O(group).
        type: str
      directory_mode:
        description: As O(directory_mode).
        type: str
        default: "0755"
      copy_ca:
        description: As O(copy_ca).
        type: bool
        default: true
  ca_certificate:
    description:
      - Gough's CA certificate (PEM) as the CA host holds it, for example the decoded content of a C(slurp) of
        C(stack_ca_cert_path) on C(stack_ca_host).
      - One of O(ca_certificate) and O(ca_path) is required.
    type: str
  ca_path:
    description:
      - Path of Gough's CA certificate on the target, for a target that is the CA host itself (the stack host), so
        that no C(slurp) is needed first.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode runs it the same way.
  diff_mode:
    support: none
    description: Reports no change, so there is no diff.
notes:
  - Never reports a change.
"""

EXAMPLES = r"""
- name: Read Gough's CA certificate on the CA host
  ansible.builtin.slurp:
    src: /opt/gough/ca/ca.crt
  delegate_to: stack.example.com
  register: ca_pem

- name: Is the agent's certificate current?
  gough.gough.certificate_status:
    name: agent
    sans: ["DNS:{{ inventory_hostname }}", "IP:{{ ansible_host }}"]
    usage: server
    dest: /etc/gough-agent/tls
    ca_certificate: "{{ ca_pem.content | b64decode }}"
  register: agent_cert

- name: Say why it would be issued again
  ansible.builtin.debug:
    var: agent_cert.findings
  when: not agent_cert.current
"""

RETURN = r"""
certificates:
  description: With O(certificates), the result of each, in order.
  returned: when O(certificates) is given
  type: list
  elements: dict
  contains:
    name:
      description: The certificate's O(name).
      type: str
    dest:
      description: Its O(dest).
      type: str
    current:
      description: True when C(issue_certificate) would change nothing for this certificate.
      type: bool
    findings:
      description: What differs for this certificate, one sentence each.
      type: list
      elements: str
    not_after:
      description: When the certificate expires (ISO 8601, UTC); null when there is none to read.
      type: str
current:
  description: True when the C(issue_certificate) tasks would change nothing for these inputs (every certificate of
    O(certificates)).
  returned: success
  type: bool
  sample: true
findings:
  description: What differs, one sentence each (of every certificate of O(certificates)); empty when O(ignore:current) is true.
  returned: success
  type: list
  elements: str
  sample: ["certificate /etc/gough-agent/tls/agent.crt has mode 0600, not 0644"]
ca_certificate:
  description: The CA certificate the certificate was compared with (PEM), as given or as read from O(ca_path).
  returned: success
  type: str
not_after:
  description: When the certificate on the target expires (ISO 8601, UTC); null when there is none to read.
  returned: when O(name) is given
  type: str
  sample: "2029-03-10T12:00:00+00:00"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gough.gough.plugins.module_utils.x509_status import HAS_CRYPTOGRAPHY, BadCA, findings


def not_after(certificate):
    """The certificate's expiry in ISO 8601 (UTC), with the cryptography API of any version."""
    if certificate is None:
        return None
    value = getattr(certificate, "not_valid_after_utc", None)
    if value is None:
        value = certificate.not_valid_after.replace(tzinfo=None)
        return value.isoformat() + "+00:00"
    return value.isoformat()


CERTIFICATE_OPTIONS = dict(
    name=dict(type="str"),
    sans=dict(type="list", elements="str", default=[]),
    usage=dict(type="str", choices=["server", "client"]),
    dest=dict(type="path"),
    owner=dict(type="str"),
    group=dict(type="str"),
    directory_mode=dict(type="str", default="0755"),
    copy_ca=dict(type="bool", default=True),
)


def _wanted(module, params, where):
    """The checks' input for one certificate; fails naming ``where`` when an option is missing or bad."""
    for option in ("name", "usage", "dest"):
        if not params[option]:
            module.fail_json(msg="%s%s: is required and must not be empty." % (where, option))
    try:
        return dict(params, directory_mode=int(params["directory_mode"], 8))
    except ValueError:
        module.fail_json(msg="%sdirectory_mode: must be an octal string such as \"0755\", got %r"
                         % (where, params["directory_mode"]))


def main():
    argument_spec = dict(CERTIFICATE_OPTIONS,
                         certificates=dict(type="list", elements="dict", options=dict(
                             CERTIFICATE_OPTIONS, **dict((option, dict(CERTIFICATE_OPTIONS[option], required=True))
                                                         for option in ("name", "usage", "dest")))),
                         ca_certificate=dict(type="str"),
                         ca_path=dict(type="path"))
    module = AnsibleModule(argument_spec=argument_spec,
                           mutually_exclusive=[["ca_certificate", "ca_path"], ["name", "certificates"]],
                           required_one_of=[["ca_certificate", "ca_path"], ["name", "certificates"]],
                           supports_check_mode=True)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    if params["certificates"] is None:
        wanted = [_wanted(module, params, "")]
    else:
        wanted = [_wanted(module, entry, "certificates[%d]." % index)
                  for index, entry in enumerate(params["certificates"])]
    option = "ca_path" if params["ca_path"] else "ca_certificate"
    if params["ca_path"]:
        try:
            with open(params["ca_path"], "rb") as handle:
                ca_pem = handle.read()
        except OSError as exc:
            module.fail_json(msg="ca_path: cannot read %s: %s" % (params["ca_path"], exc.strerror))
    else:
        ca_pem = params["ca_certificate"].encode("utf-8")
    results = []
    try:
        for one in wanted:
            found, certificate = findings(one, ca_pem)
            results.append(dict(name=one["name"], dest=one["dest"], current=not found, findings=found,
                                not_after=not_after(certificate)))
    except BadCA as exc:
        module.fail_json(msg="%s: not a PEM certificate: %s" % (option, exc))
    output = dict(changed=False, current=all(result["current"] for result in results),
                  findings=[finding for result in results for finding in result["findings"]],
                  ca_certificate=ca_pem.decode("utf-8", "replace"))
    if params["certificates"] is None:
        output["not_after"] = results[0]["not_after"]
    else:
        output["certificates"] = results
    module.exit_json(**output)


if __name__ == "__main__":
    main()
