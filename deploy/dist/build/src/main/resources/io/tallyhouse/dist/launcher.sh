#!/bin/sh
# @NAME@ (Tallyhouse): @WHAT@
#
# JAVA_HOME: the Java 17+ runtime to use (else `java` on the PATH). JAVA_OPTS: JVM options
# (split on spaces; they come after this script's defaults, so they win). The configuration is the
# environment: see config/*.env.example. Every argument is passed on (--help, --version).
set -e

# This script's real directory, through a chain of symbolic links (say, one in /usr/local/bin).
self=$0
while [ -h "$self" ]; do
  target=$(ls -ld -- "$self" | sed 's/^.* -> //')
  case $target in
    /*) self=$target ;;
    *) self=$(dirname -- "$self")/$target ;;
  esac
done
home=$(cd -- "$(dirname -- "$self")/.." && pwd -P)

if [ -n "${JAVA_HOME:-}" ]; then
  java=$JAVA_HOME/bin/java
else
  java=java
fi

# exec: the JVM takes this shell's place, so a stop signal reaches it and its exit code is ours.
# shellcheck disable=SC2086
exec "$java" @JVM_DEFAULTS@ $JAVA_OPTS -cp "$home/lib/*" @MAIN@ "$@"
