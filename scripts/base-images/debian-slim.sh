#!/bin/sh
# Run inside a fresh debootstrap root (chroot) to trim it the way the official
# debian:*-slim images are trimmed: no documentation, man pages or translations,
# now or after any later `apt-get install`, and no package lists or caches.
set -eu
cat > /etc/dpkg/dpkg.cfg.d/slim <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
CFG
cat > /etc/apt/apt.conf.d/slim <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CFG
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/groff/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
# The container engine provides these at run time.
rm -f /etc/resolv.conf /etc/hostname
