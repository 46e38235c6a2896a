"""How the lab driver reads ``cloud-init status --format json`` while a boot ends (no Docker: the answers are fed in)."""

from gough_lab import nodes

RUNNING = {"status": "running", "errors": []}
# cloud-init 25.1 while cloud-final.service has failed but result.json is not written yet (cmd/status.py).
FALLBACK = {"status": "error", "detail": "Failed due to systemd unit failure",
            "errors": ["Failed due to systemd unit failure. Ensure all cloud-init services are enabled, and check "
                       "'systemctl' or 'journalctl' for more information."]}
FINAL = {"status": "error", "errors": ["('scripts_user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted "
                                       "commands'))"],
         "modules-final": {"errors": ["('scripts-user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted "
                                      "commands'))"]}}


class ScriptedDriver(nodes.NodeDriver):
    """A driver whose node answers the scripted statuses in turn (the last one from then on)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.polls = 0

    def cloud_init_status(self, system_id):
        self.polls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def is_running(self, system_id):
        return True


def test_the_systemd_fallback_is_polled_again_until_the_stage_errors_are_written():
    driver = ScriptedDriver([RUNNING, FALLBACK, FALLBACK, FINAL])
    result = driver.wait_cloud_init("abc123", timeout=30, interval=0.01, settle=10)
    assert (result.status, result.stage, result.module) == ("error", "modules-final", "scripts-user")
    assert driver.polls == 4
    assert "'modules-final' failed: running 'scripts-user'" in result.message()


def test_a_fallback_that_stays_is_the_result_after_the_settle_time():
    driver = ScriptedDriver([RUNNING, FALLBACK])
    result = driver.wait_cloud_init("abc123", timeout=30, interval=0.01, settle=0.1)
    assert result.status == "error" and result.systemd_fallback
    assert result.stage is None and result.errors[0].startswith(nodes.SYSTEMD_FALLBACK)
    assert 0.1 <= result.elapsed < 5


def test_a_stage_error_is_returned_at_once():
    driver = ScriptedDriver([FINAL])
    result = driver.wait_cloud_init("abc123", timeout=30, interval=0.01, settle=10)
    assert result.module == "scripts-user" and not result.systemd_fallback and driver.polls == 1


def test_done_is_returned_at_once_and_a_timeout_names_the_bound():
    assert ScriptedDriver([{"status": "done"}]).wait_cloud_init("abc123", interval=0.01).ok
    result = ScriptedDriver([RUNNING]).wait_cloud_init("abc123", timeout=0.05, interval=0.01)
    assert result.status == "timeout" and "0 s" in result.message()
