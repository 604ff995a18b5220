#!/bin/busybox sh
# /init of the power-cut test's guest: load the modules, record the workload on /dev/vda with its log on
# /dev/vdb, replay the log onto /dev/vdc (a pristine copy of vda) through snapshots on /dev/vdd, power off.
# The file system and the mode come on the kernel command line: pc.fs=ext4|ext4-nojournal|xfs pc.mode=durable|not-durable.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in $(cat /modules.order); do
  insmod "/modules/$module.ko" || echo "PC-ERROR insmod $module"
done
for word in $(cat /proc/cmdline); do
  case "$word" in
    pc.fs=*) fs="${word#pc.fs=}" ;;
    pc.mode=*) mode="${word#pc.mode=}" ;;
  esac
done
echo "PC-START fs=$fs mode=$mode kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
if /bin/powercut record "$fs" "$mode" /dev/vda /dev/vdb; then
  echo "PC-RECORDED uptime=$(cut -d' ' -f1 /proc/uptime)"
  /bin/powercut replay "$fs" "$mode" /dev/vdb /dev/vdc /dev/vdd
  echo "PC-EXIT $? uptime=$(cut -d' ' -f1 /proc/uptime)"
else
  echo "PC-EXIT record-failed"
fi
poweroff -f
