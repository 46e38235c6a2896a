"""Mirror the working tree (files git tracks or would track) into .build/ansible_collections/gough/gough.

ansible-test insists on running from a directory named ansible_collections/<namespace>/<name>. The copy keeps
mtimes so unchanged files are not rewritten, and drops files that left the working tree.
"""

import os
import shutil
import subprocess
import sys


def main(dest):
    """Copy every tracked or untracked-but-not-ignored file into dest; remove the rest (but tests/output and .git)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], check=True,
                         capture_output=True).stdout.decode()
    wanted = {p for p in out.split("\0") if p and os.path.isfile(p)}
    for rel in sorted(wanted):
        target = os.path.join(dest, rel)
        try:
            src_stat = os.stat(rel)
            dst_stat = os.stat(target)
            if dst_stat.st_mtime_ns == src_stat.st_mtime_ns and dst_stat.st_size == src_stat.st_size:
                continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        shutil.copy2(rel, target)
    for root, dirs, files in os.walk(dest, topdown=True):
        rel_root = os.path.relpath(root, dest)
        if rel_root == "." and ".git" in dirs:
            dirs.remove(".git")
        if rel_root == "tests" and "output" in dirs:
            dirs.remove("output")
        for name in files:
            rel = os.path.normpath(os.path.join(rel_root, name))
            if rel not in wanted:
                os.remove(os.path.join(root, name))
    # ansible-test lists files through git when the tree is inside a repository; .build is ignored by ours, so
    # give the copy a repository of its own (empty: untracked files count) and an ignore file for test output.
    if not os.path.isdir(os.path.join(dest, ".git")):
        subprocess.run(["git", "init", "-q", dest], check=True)
    with open(os.path.join(dest, ".git", "info", "exclude"), "w", encoding="utf-8") as handle:
        handle.write("/tests/output/\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
