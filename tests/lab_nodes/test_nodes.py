"""A lab node boots real cloud-init from a NoCloud seed: success, failure with the module, power and removal."""

import time


def test_node_boots_to_done(lab_net):
    started = time.monotonic()
    lab_net.boot("okn0de", "lab-ok", b"#cloud-config\nhostname: lab-ok\n"
                 b"write_files:\n  - path: /etc/gough-lab-test\n    content: booted\n")
    address = lab_net.address("okn0de")
    result = lab_net.wait_cloud_init("okn0de", timeout=120)
    print("boot to cloud-init done: %.1f s" % (time.monotonic() - started))
    assert result.status == "done", result
    assert address.count(".") == 3
    assert lab_net.read_file("okn0de", "/etc/gough-lab-test") == b"booted"
    assert lab_net.read_file("okn0de", "/etc/hostname").strip() == b"lab-ok"
    assert b"okn0de" in lab_net.read_file("okn0de", "/run/cloud-init/instance-data.json")

    lab_net.power_off("okn0de")
    assert not lab_net.is_running("okn0de")
    lab_net.power_on("okn0de")
    assert lab_net.is_running("okn0de")
    lab_net.remove("okn0de", erase=True)
    assert not lab_net.exists("okn0de")


def test_failing_user_data_names_the_module(lab_net):
    lab_net.boot("badn0d", "lab-bad", b"#cloud-config\nruncmd:\n  - [\"false\"]\n")
    result = lab_net.wait_cloud_init("badn0d", timeout=120)
    lab_net.remove("badn0d", erase=True)
    assert result.status == "error", result
    assert result.module == "scripts-user"
    assert result.stage == "modules-final"
    assert "'scripts-user'" in result.message() and "modules-final" in result.message()
