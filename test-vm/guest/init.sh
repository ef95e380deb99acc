#!/bin/busybox sh
# PID 1 of the test VM. Mounts the pseudo file systems, loads the modules the host packed
# (/modules/order, dependencies first), mounts the host's project over 9p at the same absolute path
# (so pnpm's symlinks resolve as on the host), runs the guest test runner and powers off.
# Settings come from /etc/ovl-vm.env, written by the host: OVL_SHARES, OVL_CWD, OVL_COMMAND.
# Everything it prints goes to the serial console, which the host reads; lines starting with
# "OVL-VM:" are for the host script.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
export HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /root /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs tmpfs /run
echo "OVL-VM: init $(uname -r) up $(cut -d' ' -f1 /proc/uptime)s"

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || echo "OVL-VM: insmod $m failed"
done

. /etc/ovl-vm.env

# /tmp on the host's fresh ext4 scratch disk when there is one (see run.mjs), else tmpfs
if [ -z "$OVL_SCRATCH" ] || ! mount -t ext4 "$OVL_SCRATCH" /tmp; then
  [ -n "$OVL_SCRATCH" ] && echo "OVL-VM: mount ext4 $OVL_SCRATCH on /tmp failed, using tmpfs"
  mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
chmod 1777 /tmp
echo "OVL-VM: /tmp is $(stat -f -c %T /tmp)"

for share in $OVL_SHARES; do
  # share is "<tag>=<absolute path>"
  tag=${share%%=*}
  dir=${share#*=}
  mkdir -p "$dir"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 "$tag" "$dir" ||
    echo "OVL-VM: mount 9p $tag on $dir failed"
done
echo "OVL-VM: ready up $(cut -d' ' -f1 /proc/uptime)s"

# The suites call host tools (GNU tar, getfattr, mkfs.xfs...) from the shared /usr, so those come
# first; init itself uses busybox explicitly from here on.
(
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  cd "$OVL_CWD" && eval "$OVL_COMMAND"
)
echo "OVL-VM: exit $? up $(/bin/busybox cut -d' ' -f1 /proc/uptime)s"
/bin/busybox sync
/bin/busybox poweroff -f
