#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: cloudinit_template
short_description: Render and validate cloud-init user-data from Gough's template library or your own template
version_added: 0.1.0
description:
  - Renders cloud-init user-data on the controller, with the play's variables plus O(vars), from a template of
    Gough's library (O(name)) or from a template file of your own (O(src)), and merges extra O(parts) into it.
  - The library ships in the collection under C(plugins/cloudinit/templates/<name>.yml.j2) and has V(base),
    V(docker-host), V(kvm-hypervisor) and V(gough-bootstrap). Each template documents its variables and their
    defaults in its header comment; C(docs/cloudinit_templates.md) in the collection lists them all.
  - Validates the result before returning it, and fails with one clear message on the first problem. The checks
    are, in order, known template names, required template variables, rendering, YAML (with line and column), the
    C(#cloud-config) header, cloud-init's schema when its validator is available (errors name the key path, for
    example C(users[0].ssh_authorized_keys)), and the size limit O(max_size).
  - Returns the user-data as text (RV(user_data)) for M(gough.gough.maas_deploy)'s O(gough.gough.maas_deploy#module:user_data),
    and base64-encoded (RV(user_data_base64)) for MAAS's API.
  - Nothing is written anywhere and nothing changes, so the module never reports a change.
  - The result is hidden from the output unless O(show_user_data=true), because user-data usually carries
    secrets; a registered variable still holds every key.
author:
  - Gough developers (@gough)
options:
  name:
    description:
      - Library templates to render, merged in order. Templates a template extends (V(docker-host) and
        V(kvm-hypervisor) extend V(base)) come first, each only once.
      - Library templates are merged with each other the way cloud-init's C(list(append)+dict(no_replace,recurse_list))
        merges parts, so later templates add packages, files and commands to earlier ones.
      - An unknown name fails, listing the known ones.
      - Mutually exclusive with O(src).
    type: list
    elements: str
  src:
    description:
      - Path of a Jinja2 template of your own on the controller, looked up like the C(src) of
        C(ansible.builtin.template) (the role's or play's C(templates) directories, then the path as given).
      - The rendered text must start with C(#cloud-config) and be a YAML mapping.
      - Mutually exclusive with O(name).
    type: path
  vars:
    description:
      - Variables for the templates, on top of the play's variables (these win).
    type: dict
    default: {}
  parts:
    description:
      - Extra pieces merged after the template, in order. Each is a cloud-config mapping, a string of cloud-config
        YAML (the C(#cloud-config) header is optional), or a script (a string starting with C(#!)).
      - Cloud-config pieces are merged into the document as set by O(merge_how).
      - Scripts go into their own C(text/x-shellscript) parts of a MIME multipart, see O(output).
    type: list
    elements: raw
    default: []
  merge_how:
    description:
      - How O(parts) merge into the document.
      - V(replace) is cloud-init's default for cloud-config parts (C(dict(replace)+list()+str())). Each top-level key
        of a part replaces the whole value the document has for it.
      - V(append) is cloud-init's C(dict(no_replace,recurse_list)+list(append)+str()). Mappings are merged key by key
        at every depth, lists are appended, and for other values set in both, the earlier one is kept.
    type: str
    choices: [replace, append]
    default: replace
  output:
    description:
      - V(cloud-config) returns one C(#cloud-config) document, and fails when O(parts) holds scripts.
      - V(multipart) returns a MIME multipart with the merged cloud-config as a C(text/cloud-config) part and each
        script as a C(text/x-shellscript) part, in the order given.
      - V(auto) is V(multipart) when O(parts) holds scripts, otherwise V(cloud-config).
    type: str
    choices: [auto, cloud-config, multipart]
    default: auto
  max_size:
    description:
      - Largest user-data accepted, in bytes, measured before base64 encoding. V(0) turns the check off.
      - The default, 16 KiB, is the limit of the most restrictive common datasources (EC2 and its imitators). MAAS
        itself accepts more, so raise this only when you know every target takes it.
    type: int
    default: 16384
  schema_validation:
    description:
      - V(auto) validates against cloud-init's schema when a validator is available on the controller, and
        otherwise returns RV(schema_validated=false) with a warning.
      - V(required) fails when no validator is available.
      - V(never) skips the schema check (YAML and header are still checked).
      - The validator is, in order, O(validator), the E(GOUGH_CLOUDINIT_VALIDATOR) environment variable, cloud-init's
        Python package on the controller (C(cloudinit.config.schema)), or a C(cloud-init) command on the PATH
        (C(cloud-init schema --config-file)).
    type: str
    choices: [auto, required, never]
    default: auto
  validator:
    description:
      - Command that validates a cloud-config file, as a string split like a shell would. It is run with the path
        of the merged cloud-config appended, must exit 0 when it is valid, and otherwise print the problems (the
        format of C(cloud-init schema --config-file), dotted key paths such as C(users.0.name) are shown as
        C(users[0].name)).
      - For example V(cloud-init schema --config-file), or a wrapper that runs it in a container holding the target
        release's cloud-init.
    type: str
  show_user_data:
    description:
      - Show the result, user-data included, in the task output.
      - When V(false), the result is hidden from the output as with C(no_log) (only C(changed), warnings and a
        C(censored) note are shown), but a registered variable holds every key. Errors are always shown.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Rendering writes nothing, so check mode renders and validates exactly as a normal run does.
  diff_mode:
    support: partial
    description:
      - Returns a diff from nothing to the rendered cloud-config with secret-looking values (passwords, tokens,
        keys, file contents) and scripts redacted.
      - As the whole result, it is displayed only with O(show_user_data=true); otherwise it is only in the
        registered variable.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller; the target host is not contacted.
notes:
  - Validation against cloud-init's real schema needs cloud-init on the controller (or a O(validator)). Without it
    the result says RV(schema_validated=false) and a warning is given; set O(schema_validation=required) to make
    that an error.
  - Undefined variables in a template are errors, whether or not the template declares them required; give
    optional variables a C(default()) in your own templates.
  - Validator messages may quote the offending value. Errors are shown even when O(show_user_data=false).
seealso:
  - module: gough.gough.maas_deploy
"""

EXAMPLES = r"""
- name: Render the base template with the admin's SSH key
  gough.gough.cloudinit_template:
    name: base
    vars:
      cloudinit_ssh_authorized_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
      cloudinit_timezone: Europe/Berlin
  register: rendered

- name: Deploy with it
  gough.gough.maas_deploy:
    machines: [node-01, node-02]
    user_data: "{{ rendered.user_data }}"

- name: A Docker host that asks AWX for its first-boot job, plus one package and a script
  gough.gough.cloudinit_template:
    name: [docker-host, gough-bootstrap]
    vars:
      cloudinit_ssh_authorized_keys: "{{ admin_keys }}"
      gough_ca_cert: "{{ lookup('ansible.builtin.file', 'ca.pem') }}"
      gough_awx_callback_url: https://awx.example.com/api/v2/job_templates/42/callback/
      gough_awx_host_config_key: "{{ vault_awx_host_config_key }}"
    parts:
      - packages: [jq]
      - |
        #!/bin/sh
        echo "first boot done" > /var/log/first-boot
    merge_how: append
  register: docker_user_data

- name: Your own template, validated by cloud-init running in a container
  gough.gough.cloudinit_template:
    src: user-data.yml.j2
    validator: docker run --rm -i -v /tmp:/tmp lab-node cloud-init schema --config-file
    schema_validation: required
  register: custom
"""

RETURN = r"""
user_data:
  description:
    - The user-data, a C(#cloud-config) document or a MIME multipart (see RV(output)).
    - Hidden from the task output unless O(show_user_data=true).
  returned: success
  type: str
  sample: "#cloud-config\ntimezone: Etc/UTC\n"
user_data_base64:
  description: RV(user_data) encoded as UTF-8 and base64, as MAAS's API takes it.
  returned: success
  type: str
  sample: I2Nsb3VkLWNvbmZpZwp0aW1lem9uZTogRXRjL1VUQwo=
size:
  description: Size of RV(user_data) in bytes.
  returned: success
  type: int
  sample: 1264
output:
  description: The form of RV(user_data), V(cloud-config) or V(multipart).
  returned: success
  type: str
  sample: cloud-config
parts:
  description: What the user-data is made of, in order. Library templates count as one cloud-config piece.
  returned: success
  type: list
  elements: dict
  contains:
    source:
      description: Where the piece came from, V(template <name>), V(src <path>) or V(parts[<index>]).
      returned: success
      type: str
      sample: template base, template docker-host
    type:
      description: V(cloud-config) or V(script).
      returned: success
      type: str
      sample: cloud-config
    filename:
      description: File name of a script in the multipart.
      returned: when RV(parts[].type=script)
      type: str
      sample: part-001.sh
    size:
      description: Size of a script in bytes.
      returned: when RV(parts[].type=script)
      type: int
      sample: 52
schema_validated:
  description: Whether the cloud-config was checked against cloud-init's schema (it passed, or the task failed).
  returned: success
  type: bool
  sample: false
validator:
  description: The schema validator used, V(cloudinit.config.schema) or a command; null when none ran.
  returned: success
  type: str
  sample: /usr/bin/cloud-init schema --config-file
templates:
  description: The templates rendered, in the order they were merged.
  returned: success
  type: list
  elements: str
  sample: [template base, template docker-host]
"""

from ansible.module_utils.basic import AnsibleModule

MODULE_KWARGS = dict(
    mutually_exclusive=[["name", "src"]],
    required_one_of=[["name", "src", "parts"]],
)


def argument_spec():
    """The module's options; the action plugin validates against the same spec."""
    return dict(
        name=dict(type="list", elements="str"),
        src=dict(type="path"),
        vars=dict(type="dict", default={}),
        parts=dict(type="list", elements="raw", default=[]),
        merge_how=dict(type="str", choices=["replace", "append"], default="replace"),
        output=dict(type="str", choices=["auto", "cloud-config", "multipart"], default="auto"),
        max_size=dict(type="int", default=16384),
        schema_validation=dict(type="str", choices=["auto", "required", "never"], default="auto"),
        validator=dict(type="str"),
        show_user_data=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **MODULE_KWARGS)
    # Rendering needs the play's variables and controller files; only the action plugin has them.
    module.fail_json(msg="gough.gough.cloudinit_template runs on the controller through its action plugin; it "
                         "cannot run as a module on its own.")


if __name__ == "__main__":
    main()
