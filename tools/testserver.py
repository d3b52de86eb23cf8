"""Shared code of tools/opensearch and tools/secretsmanager: run a test server from the repo's
.venv in the background, on a free loopback port, with its state in a folder of its own.

State folder (--dir): `pid` (pid and kernel start time, so a reused pid is never taken for the
server), `url`, `port`, `server.log` (the server's stdout and stderr) and `lock` (serializes start
and stop on that folder). Several folders mean several independent servers. The servers keep
their data in memory only: stopping one loses it.

Standard library only: runs under any python3; the venv is made by tools/bootstrap.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, NoReturn, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "tools" / "requirements.txt"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class ServerSpec:
    name: str  # the tool's name, for messages and the default state folder
    command: Callable[[argparse.Namespace, List[str]], List[str]]  # argv of the server
    find_url: Callable[[str], Optional[str]]  # the base URL, read from the server's log
    process_marker: str  # a string that the server's /proc/PID/cmdline contains
    ready: Callable[[str], bool]  # does the server at this URL answer?
    add_start_options: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    # Does command() pass --parent-pid to the server itself? If not, a watchdog process does it.
    native_parent_pid: bool = False


def die(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def ensure_venv() -> None:
    """Runs tools/bootstrap when the venv is missing or older than tools/requirements.txt."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    try:
        have = (VENV / ".requirements.sha256").read_text().strip()
    except OSError:
        have = ""
    if not (VENV / "bin" / "python").exists() or have != want:
        subprocess.run([str(ROOT / "tools" / "bootstrap")], check=True, stdout=sys.stderr)


def http_answers(url: str, timeout: float = 2.0) -> Optional[int]:
    """The HTTP status of GET url, or None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def _start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None
    if there is no such live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # exited, not yet reaped
        return None
    return fields[19]


class StateDir:
    def __init__(self, path: Path, spec: ServerSpec):
        self.path = path
        self.spec = spec

    def file(self, name: str) -> Path:
        return self.path / name

    def lock(self):
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.file("lock"), "w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def running_pid(self) -> Optional[int]:
        """The pid of this folder's server if it still runs."""
        try:
            pid_text, start = self.file("pid").read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if _start_time(pid) != start:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        return pid if self.spec.process_marker in cmdline else None

    def url(self) -> Optional[str]:
        try:
            return self.file("url").read_text().strip() or None
        except OSError:
            return None

    def forget(self) -> None:
        for name in ("pid", "url", "port"):
            try:
                self.file(name).unlink()
            except FileNotFoundError:
                pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.file("server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_gone(pid: int, start: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _start_time(pid) != start:
            return True
        time.sleep(0.05)
    return _start_time(pid) != start


def cmd_start(state: StateDir, args: argparse.Namespace, extra: List[str]) -> int:
    spec = state.spec
    with state.lock():
        if state.running_pid() is not None and state.url() and spec.ready(state.url()):
            print(state.url())
            return 0
        state.forget()
        ensure_venv()
        argv = spec.command(args, extra)
        with open(state.file("server.log"), "wb") as log:
            # Own session, no terminal, stdin from /dev/null and output to the log: the server
            # outlives this command and holds none of its caller's pipes open.
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=state.path,
                start_new_session=True,
            )
        start = _start_time(process.pid) or ""
        state.file("pid").write_text(f"{process.pid} {start}\n")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        url = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                state.forget()
                die(
                    f"{spec.name}: the server exited with status {process.returncode} while starting;"
                    f" end of {state.file('server.log')}:\n{state.log_tail()}"
                )
            try:
                url = url or spec.find_url(state.file("server.log").read_text(errors="replace"))
            except OSError:
                pass
            if url and spec.ready(url):
                break
            time.sleep(0.05)
        else:
            process.kill()
            process.wait()
            state.forget()
            die(
                f"{spec.name}: the server did not answer within {STARTUP_TIMEOUT:.0f} s;"
                f" end of {state.file('server.log')}:\n{state.log_tail()}"
            )
        state.file("url").write_text(url + "\n")
        state.file("port").write_text(url.rsplit(":", 1)[1] + "\n")
        if args.parent_pid and not spec.native_parent_pid:
            subprocess.Popen(
                [sys.executable, __file__, "watch", str(args.parent_pid), str(process.pid), start],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        print(url)
        return 0


def watch(parent_pid: int, server_pid: int, server_start: str) -> int:
    """The watchdog behind --parent-pid for servers that lack it: SIGTERM (then SIGKILL) the
    server once the parent process is gone; exit when the server is gone."""
    parent_start = _start_time(parent_pid)
    while _start_time(server_pid) == server_start:
        if parent_start is None or _start_time(parent_pid) != parent_start:
            os.kill(server_pid, signal.SIGTERM)
            if not _wait_gone(server_pid, server_start, STOP_TIMEOUT):
                os.kill(server_pid, signal.SIGKILL)
            return 0
        time.sleep(0.5)
    return 0


def cmd_stop(state: StateDir, args: argparse.Namespace, extra: List[str]) -> int:
    if not state.path.is_dir():
        return 0
    with state.lock():
        pid = state.running_pid()
        if pid is not None:
            start = state.file("pid").read_text().split()[1]
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, start, STOP_TIMEOUT):
                os.kill(pid, signal.SIGKILL)
                if not _wait_gone(pid, start, STOP_TIMEOUT):
                    die(f"{state.spec.name}: process {pid} does not exit")
        state.forget()
    return 0


def cmd_url(state: StateDir, args: argparse.Namespace, extra: List[str]) -> int:
    url = state.url()
    if state.running_pid() is None or not url:
        die(f"{state.spec.name}: not running (state folder {state.path})")
    print(url)
    return 0


def cmd_status(state: StateDir, args: argparse.Namespace, extra: List[str]) -> int:
    pid = state.running_pid()
    url = state.url()
    if pid is None or not url or not state.spec.ready(url):
        print(f"{state.spec.name}: not running (state folder {state.path})")
        return 1
    print(f"{state.spec.name}: running at {url} (pid {pid}, state folder {state.path})")
    return 0


def main(spec: ServerSpec, doc: str, extra_commands: Optional[dict] = None) -> int:
    commands = {"start": cmd_start, "stop": cmd_stop, "url": cmd_url, "status": cmd_status}
    commands.update(extra_commands or {})
    default_dir = Path(os.environ.get("TMPDIR") or "/tmp") / f"sluice-{spec.name}"
    parser = argparse.ArgumentParser(
        prog=f"tools/{spec.name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=list(commands))
    parser.add_argument(
        "--dir",
        type=Path,
        default=default_dir,
        help="state folder: pid, url, port, server.log (default: $TMPDIR/sluice-%s, /tmp if TMPDIR is unset)"
        % spec.name,
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        help="start: the server exits by itself when this process disappears (e.g. the test runner)",
    )
    spec.add_start_options(parser)
    argv = sys.argv[1:]
    extra: List[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    state = StateDir(args.dir.absolute(), spec)
    return commands[args.command](state, args, extra)


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "watch":
    sys.exit(watch(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
