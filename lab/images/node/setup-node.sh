#!/bin/sh
# Runs once at image build: make the image boot cleanly as a systemd container and start each node fresh.
set -eu
# Units that need hardware, a console or a writable /sys: they fail or hang in a container.
for unit in \
    getty.target console-getty.service getty@tty1.service serial-getty@ttyS0.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-remount-fs.service systemd-modules-load.service systemd-firstboot.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
    dev-hugepages.mount dev-mqueue.mount systemd-journald-audit.socket \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
# Each node gets its own identity at first boot: machine-id from systemd, SSH host keys from cloud-init.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_*
# A locale cloud-init's locale module can select without running locale-gen for minutes.
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
locale-gen >/dev/null
update-locale LANG=en_US.UTF-8
rm -rf /var/lib/cloud /var/log/cloud-init*
# The node driver copies user-data and meta-data here before the first start.
mkdir -p /var/lib/cloud/seed/nocloud
