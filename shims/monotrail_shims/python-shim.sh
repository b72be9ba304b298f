#!/bin/bash -p
# monotrail shim for @NAME@, written by `monotrail shims install`; `monotrail shims uninstall` removes it.
#
# Outside a project (no lockfile in $PWD or any parent) this execs the plain interpreter; inside one
# it is `monotrail @REQUEST@ run python ARGS...`: the project's locked packages, venv-less. Shell
# builtins only before the one exec, so the interpreter gets the same argv, stdin, signals and exit
# code as if it had been started directly. See docs/how-to/shims.md.
#
# bash -p, not /bin/sh: dash drops environment names that are not shell identifiers when it execs
# (click's `PROG.PY_COMPLETE`, exported bash functions); bash -p passes the environment on as it is.
python=@PYTHON@
monotrail=@MONOTRAIL@
launcher=@LAUNCHER@
request=@REQUEST@
follow_pin=@FOLLOW_PIN@

# Replace this shell with "$@". bash raises SHLVL when it starts and its `exec` lowers it again,
# exporting it even where the caller had none: 1 here means there was none (or 0).
hand_over() {
    [ -z "${BASH_VERSION-}" ] || [ "${SHLVL-}" != 1 ] || exec /usr/bin/env -u SHLVL "$@"
    exec "$@"
}

# MONOTRAIL_SHIM is set from here until a real interpreter starts (monotrail unsets it before its
# exec): seeing it set means a shim started a shim, e.g. discovery probing this file.
if [ -n "${MONOTRAIL_SHIM:-}" ]; then
    printf 'error: shim loop: %s was started by the shim %s before any Python ran\n' "$0" "$MONOTRAIL_SHIM" >&2
    printf 'hint: a shim must not be the interpreter it stands for; rerun `monotrail shims install`, or unset MONOTRAIL_SHIM\n' >&2
    exit 2
fi

# The lock names monotrail searches for (monotrail.lock.files.find_lock), from $PWD up to /.
dir=$PWD
pin=
while :; do
    for lock in "$dir/pylock.toml" "$dir"/pylock.*.toml "$dir/uv.lock" "$dir/poetry.lock" \
            "$dir/requirements.txt" "$dir/requirements-frozen.txt"; do
        [ -f "$lock" ] || continue
        MONOTRAIL_SHIM=$0
        export MONOTRAIL_SHIM
        [ -z "$request" ] || hand_over "$monotrail" "$request" run python "$@"
        hand_over "$monotrail" run python "$@"
    done
    [ -n "$pin" ] || [ ! -f "$dir/.python-version" ] || pin=$dir/.python-version
    [ -n "$dir" ] || break
    dir=${dir%/*}
done

# `python` and `python3` follow .python-version and MONOTRAIL_PYTHON, as pyenv's shims do: only
# then is monotrail asked (one Python start); otherwise the interpreter chosen at install time.
if [ "$follow_pin" = yes ] && [ -n "$pin${MONOTRAIL_PYTHON:-}" ]; then
    python=$(MONOTRAIL_SHIM=$0 "$launcher" python find) || exit
fi
hand_over "$python" "$@"
