"""What the store's lib dirs on `sys.path` cost a start (issue 15): the hook before and after.

    python bench/bench_hook_sys_path.py [--base COMMIT] [--after COMMIT] [--lib-dirs 10,150] [--runs 40]

Builds, per size, a real venv (`python -m venv --without-pip`) whose site-packages holds the hook
and a manifest naming N fake store entries (one package and one dist-info each), then, in fresh
processes interleaved between the hook of --base (default: the commit before the lib dirs went on
`sys.path`) and that of --after (default: the working tree's):
1. in-process (python -S, the hook activated by hand, so start-up noise stays out): `activate()`,
   one import found nowhere (`sitecustomize` on every start), and importing three locked packages;
2. end to end: `<venv>/bin/python -c pass` next to plain `python -c pass`, as ratios.
Prints the machine's load with the figures: they are noisy while other work runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOOK = "bootstrap/monotrail_bootstrap/_monotrail_finder.py"
# The hook's second file since 020777c, loaded from beside it when first needed.
EXTRAS = "bootstrap/monotrail_bootstrap/_monotrail_finder_extras.py"
BEFORE = "03bdb70^"  # the commit before "hook: the store's lib dirs end sys.path"

PROBE = r"""
import sys, time
import importlib.util as u
spec = u.spec_from_file_location("_monotrail_finder", {hook!r})
f = u.module_from_spec(spec); spec.loader.exec_module(f)
t = time.perf_counter(); f.activate({manifest!r}); a = time.perf_counter() - t
t = time.perf_counter()
try:
    import sitecustomize
except ImportError:
    pass
b = time.perf_counter() - t
t = time.perf_counter()
for m in {modules!r}: __import__(m)
c = time.perf_counter() - t
print(a * 1e6, b * 1e6, c * 1e6)
"""


def make_env(directory: Path, python: str, count: int) -> Path:
    env = directory / f"env{count}"
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    manifest: dict = {"version": 1, "python": python, "env": str(env), "modules": {}, "distributions": {},
                      "lib_dirs": [], "pth": [], "paths": [], "scripts": {}}
    (env / "pids").mkdir()
    for i in range(count):
        lib = directory / f"store{count}" / f"pkg{i}" / "1.0" / "0" / "site-packages"
        (lib / f"mod{i}").mkdir(parents=True)
        (lib / f"mod{i}" / "__init__.py").write_text(f"X = {i}\n")
        info = lib / f"mod{i}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mod{i}\nVersion: 1.0\n")
        (info / "RECORD").write_text("")  # what the hook checks when a name of the entry is first imported
        manifest["modules"][f"mod{i}"] = [str(lib)]
        manifest["distributions"][f"mod{i}"] = str(info)
        manifest["lib_dirs"].append(str(lib))
    (env / "manifest.json").write_text(json.dumps(manifest))
    (site / "_monotrail.pth").write_text(f"import _monotrail_finder; _monotrail_finder.activate({str(env / 'manifest.json')!r})\n")
    return site


def use(site: Path, hook: Path) -> None:
    shutil.copy(hook, site / "_monotrail_finder.py")
    extras = hook.with_name("_monotrail_finder_extras.py")
    if extras.exists():
        shutil.copy(extras, site / extras.name)
    shutil.rmtree(site / "__pycache__", ignore_errors=True)


def timed(command: list[str], environ: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=environ, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BEFORE)
    parser.add_argument("--after", default=None, help="a commit (default: the working tree)")
    parser.add_argument("--lib-dirs", default="10,150")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--python", default=sys.executable)
    options = parser.parse_args()
    python = os.path.realpath(options.python)
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        hooks = {"before": directory / "before" / "_monotrail_finder.py",
                 "after": directory / "after" / "_monotrail_finder.py" if options.after else REPO / HOOK}
        for name, commit in (("before", options.base), ("after", options.after)):
            if commit:
                hooks[name].parent.mkdir()
                for path, target in ((HOOK, hooks[name]), (EXTRAS, hooks[name].with_name("_monotrail_finder_extras.py"))):
                    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"], capture_output=True)
                    if shown.returncode == 0:  # no extras before 020777c
                        target.write_bytes(shown.stdout)
        print(f"python {python}; load: {os.getloadavg()}")
        for count in (int(n) for n in options.lib_dirs.split(",")):
            site = make_env(directory, python, count)
            env_python = str(site.parents[2] / "bin" / "python")
            modules = [f"mod{i}" for i in sorted({0, count // 2, count - 1})]
            inproc: dict[str, list[list[float]]] = {"before": [], "after": []}
            start: dict[str, list[float]] = {"plain": [], "before": [], "after": []}
            for _ in range(options.runs):
                for name, hook in hooks.items():
                    use(site, hook)
                    code = PROBE.format(hook=str(hook), manifest=str(site.parents[2] / "manifest.json"), modules=modules)
                    out = subprocess.run([env_python, "-S", "-c", code], env=environ, capture_output=True, text=True,
                                         check=True).stdout.split()
                    inproc[name].append([float(x) for x in out])
                    timed([env_python, "-c", "pass"], environ)  # writes the hook's bytecode
                    start[name].append(timed([env_python, "-c", "pass"], environ))
                start["plain"].append(timed([python, "-c", "pass"], environ))
            print(f"\n{count} lib dirs, {options.runs} runs each, medians:")
            for name, rows in inproc.items():
                a, b, c = (statistics.median(column) for column in zip(*rows))
                print(f"  {name:6} activate {a:7.0f} us   miss {b:5.0f} us   import {len(modules)} locked {c:6.0f} us")
            median = {name: statistics.median(values) * 1000 for name, values in start.items()}
            print(f"  `python -c pass`: plain {median['plain']:.2f} ms, before {median['before']:.2f} ms "
                  f"({median['before'] / median['plain']:.3f}x), after {median['after']:.2f} ms "
                  f"({median['after'] / median['plain']:.3f}x); after/before {median['after'] / median['before']:.3f}")
        print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
