"""What an AWX 24 project update finds in a checkout: ``playbook_files`` and ``inventory_files``, with AWX's rules
(awx/main/utils/ansible.py: skip_directory, could_be_playbook, could_be_inventory; Project.playbooks and
Project.inventories)."""

import os
import re

VALID_PLAYBOOK = re.compile(r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):\s*?.*?$")
VALID_INVENTORY = re.compile(r"^[a-zA-Z0-9_.=\[\]]")
MAX_INVENTORY_LISTING = 50


def skip_directory(relative):
    """AWX leaves out roles/, tasks/, group_vars/, host_vars/ and dot directories."""
    elements = [part for part in relative.split(os.sep) if part not in ("", ".")]
    if "roles" in elements or "tasks" in elements:
        return True
    if any(part.startswith(".") for part in elements):
        return True
    return "group_vars" in elements or "host_vars" in elements


def could_be_playbook(path):
    """A .yml/.yaml file with a line that starts a play (hosts, include, import_playbook) or a vault header."""
    if os.path.splitext(path)[-1] not in (".yml", ".yaml"):
        return False
    try:
        with open(path, encoding="utf-8", errors="ignore") as handle:
            for number, line in enumerate(handle):
                if VALID_PLAYBOOK.match(line):
                    return True
                if number == 0 and line.startswith("$ANSIBLE_VAULT;"):
                    return True
    except OSError:
        return False
    return False


def could_be_inventory(path):
    """Files named inventory/hosts, *.ini, executables, or extension-less files that look like INI inventories
    (AWX never lists .yml inventory files here)."""
    name = os.path.basename(path)
    extension = os.path.splitext(name)[-1]
    if name in ("inventory", "hosts"):
        return True
    if extension == ".ini" or os.access(path, os.X_OK):
        return True
    if "." in extension:
        return False
    try:
        with open(path, encoding="utf-8", errors="ignore") as handle:
            for number, line in enumerate(handle):
                if number > 10:
                    break
                if VALID_INVENTORY.match(line):
                    return True
    except OSError:
        return False
    return False


def scan(directory):
    """(playbook_files, inventory_files) of a checkout, sorted case-insensitively as AWX sorts them."""
    playbooks, inventories = [], []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        relative = os.path.relpath(root, directory)
        if skip_directory(relative):
            continue
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory)
            if could_be_playbook(path):
                playbooks.append(rel)
            if len(inventories) <= MAX_INVENTORY_LISTING and could_be_inventory(path):
                inventories.append(rel)
    return sorted(playbooks, key=str.lower), sorted(inventories, key=str.lower)


def local_path_choices(root, taken):
    """Directories under PROJECTS_ROOT a manual project may use (AWX: not hidden, not used by another project)."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [name for name in names if os.path.isdir(os.path.join(root, name)) and not name.startswith(".")
            and not name.startswith("_") and name not in taken]
