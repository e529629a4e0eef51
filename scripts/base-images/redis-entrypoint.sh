#!/bin/sh
# The part of the official redis image's entry point that compose.yaml relies on:
# bare flags mean redis-server; data in /data owned by redis; no protected mode
# unless a config file says otherwise (the container network decides who connects);
# the server runs as the redis user.
set -eu
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = redis-server ]; then
  case "${2:-}" in *.conf) ;; *) shift; set -- redis-server --protected-mode no "$@" ;; esac
fi
exec "$@"
