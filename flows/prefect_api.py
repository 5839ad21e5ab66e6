"""A Prefect API for one command's flow runs, at the lowest start-up cost, and nothing left behind.

Prefect needs an API to run a flow. In order of cost:
1. `PREFECT_API_URL` set: that server is used as it is;
2. a Prefect server already answering on this machine's default address (127.0.0.1:4200, where
   `prefect server start` and `newslake serve` listen): it is reused, so a command pays no
   server start;
3. otherwise a temporary server is started *at once*, before the command imports Prefect,
   spaCy and trafilatura, so its 5-10 s boot overlaps with theirs. It is the server Prefect
   itself would start (the same uvicorn command and settings as its `SubprocessASGIServer`), but
   launched here without importing Prefect's server package into this process (7 s of import
   on this machine, paid a second time by the server) and tied to this process: it is stopped
   when the command ends, and the kernel stops it too if the command is killed outright.

A run's data does not depend on Prefect being up: pages are read, staged and committed by
newslake itself, and Prefect only records what happened. So an API that stops answering mid-run
costs the record, not the run: the run commits, says in its summary and run log that Prefect
could not be told, and does not wait at exit for Prefect's queued events (`close`). An API
named by `PREFECT_API_URL` that does not answer at start is one clear error within seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from newslake.tasks.errors import ConfigError

__all__ = ["LOCAL_API", "PrefectApi", "PrefectUnreachableError", "local_server", "prefect_api"]

LOCAL_API = "http://127.0.0.1:4200/api"
_PR_SET_PDEATHSIG = 1
# How long a named API may take to answer at start, and Prefect's services to drain at the end.
_ANSWER_WITHIN_S = 5.0
_DRAIN_S = 3.0


class PrefectUnreachableError(ConfigError):
    """The Prefect API does not answer."""

    def __init__(self, url: str, when: str) -> None:
        self.url = url
        super().__init__(
            f"the Prefect API at {url} does not answer {when}: start it, point "
            "PREFECT_API_URL at one that runs, or unset PREFECT_API_URL to use a temporary one"
        )


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the parent dies (Linux), so a
    server outlives no command, not even one killed with SIGKILL."""
    # Not Linux: no prctl, and the parent's own clean-up is what stops the server.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    command: list[str], env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process that dies with this one; its output goes to `log` (or nowhere).

    The server gets a session of its own: Ctrl-C in a terminal, `systemctl stop` and `kill --
    -PGID` signal the command's whole process group at once, and a server stopped at that same
    moment would leave the command's own shutdown (marking runs, pausing schedules) talking to
    nobody for a minute of retries. The command stops it itself once it has shut down; the
    kernel stops it if the command dies outright.
    """
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server process and wait for it (kill it if it does not stop)."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def answers(api: str, timeout_s: float = 0.5, client: httpx.Client | None = None) -> bool:
    """Whether a Prefect API answers its health check. A caller that polls passes its own
    `client`: `httpx.get` builds a client, and with it an SSL context from the CA bundle, per
    call (58 ms of CPU), which polling a booting server ten times a second took from the
    server's boot and the workers' start (bench/RESULTS.md, "Before a run is steady")."""
    try:
        with httpx.Client() if client is None else contextlib.nullcontext(client) as asking:
            return asking.get(f"{api}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_up(api: str, process: subprocess.Popen[bytes], timeout_s: float, log: str) -> None:
    """Wait for a starting server's health check; a clear error if it dies or never answers."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client() as client:
        while not answers(api, timeout_s=2, client=client):
            if process.poll() is not None:
                msg = f"the Prefect server did not start (exit code {process.returncode}): {log}"
                raise ConfigError(msg)
            if time.monotonic() > deadline:
                msg = f"the Prefect server did not answer on {api} within {timeout_s:.0f} s: {log}"
                raise ConfigError(msg)
            time.sleep(0.1)


def _configured_in_process() -> str | None:
    """The API of Prefect's current settings, when this process has loaded Prefect already (a
    caller running newslake's CLI in process, under its own Prefect settings)."""
    if "prefect.settings" not in sys.modules:
        return None
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrefectApi:
    """The API a command's flows will use; `ready()` waits for it and points Prefect at it."""

    def __init__(self) -> None:
        self.url: str | None = os.environ.get("PREFECT_API_URL") or _configured_in_process()
        self.process: subprocess.Popen[bytes] | None = None
        # Set by `close` when Prefect's queued events or logs could not be delivered.
        self.undelivered = False
        # Set by `close` for a temporary server: what Prefect still queues goes with it.
        self.discard_queued = False
        self._created = time.monotonic()
        if self.url is None and answers(LOCAL_API):
            self.url = LOCAL_API
        if self.url is None:
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}/api"
            command = [sys.executable, "-m", "uvicorn", "--factory"]
            command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1"]
            command += ["--port", str(port), "--log-level", "error", "--lifespan", "on"]
            # What Prefect's SubprocessASGIServer sets: no UI, ephemeral mode (no services).
            # And no registration of block types: newslake's runs use no blocks, and deciding
            # that the registry is unchanged imports every installed Prefect collection
            # (prefect-dask, and with it dask and distributed), 8% of the server's boot.
            env = os.environ | {
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                "PREFECT_API_BLOCKS_REGISTER_ON_START": "0",
                "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "0",
            }
            self.process = spawn(command, env)

    @property
    def temporary(self) -> bool:
        """Whether this command started the server (and so nobody else watches its runs)."""
        return self.process is not None

    @contextmanager
    def ready(self, timeout_s: float = 120.0) -> Iterator[str]:
        """Wait for the API, then make it Prefect's for the block: in the settings context,
        which clients and worker processes read, and in Prefect's global settings, which its
        own threads read. Those threads (the one forwarding the workers' events, the events
        worker's loop) run outside any context; finding no API in the global settings, built
        at import from an environment without one, they start a second, ephemeral server of
        their own in the middle of the run (11 s of CPU beside the workers' 68 s on 600
        pages, bench/RESULTS.md)."""
        import prefect.context
        from prefect.settings import PREFECT_API_URL, temporary_settings

        assert self.url is not None
        if self.process is not None:
            wait_until_up(self.url, self.process, timeout_s, "a temporary server of this run")
        else:
            # Counted from the command's start: the flow's imports ran meanwhile.
            deadline = self._created + _ANSWER_WITHIN_S
            with httpx.Client() as client:
                while not answers(self.url, timeout_s=2, client=client):
                    if time.monotonic() > deadline:
                        raise PrefectUnreachableError(self.url, f"within {_ANSWER_WITHIN_S:g} s")
                    time.sleep(0.5)
        before = prefect.context.GLOBAL_SETTINGS_CONTEXT
        with temporary_settings(updates={PREFECT_API_URL: self.url}) as settings:
            prefect.context.GLOBAL_SETTINGS_CONTEXT = before.model_copy(
                update={"settings": settings}
            )
            try:
                yield self.url
            finally:
                prefect.context.GLOBAL_SETTINGS_CONTEXT = before

    def close(self) -> None:
        """Deliver what Prefect still queues, then stop the temporary server this command
        started (a reused one is left alone).

        Prefect's log and event workers are drained here, for a few seconds: left to drain at
        interpreter exit, they wait as long as their API does not answer (each queued event
        retries for seconds), which is forever for a server that is gone. When they do not
        drain, `undelivered` says so and the command exits without waiting for them. A
        temporary server's queue is not drained at all: the server and its database are
        thrown away with the command, and the drain cost every command seconds
        (bench/throughput.py, start-up); `discard_queued` tells the command to exit without
        waiting for it.
        """
        if self.process is not None:
            # Killed, not stopped: its graceful shutdown takes seconds and nothing of it is
            # kept but its SQLite database, which a kill leaves consistent.
            self.process.kill()
            self.process.wait()
            self.process = None
            self.discard_queued = True
            return
        if "prefect.events.worker" in sys.modules:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            for service in (APILogWorker, EventsWorker):
                outcome = service.drain_all(timeout=_DRAIN_S)
                if isinstance(outcome, tuple) and outcome[1]:
                    self.undelivered = True


@contextmanager
def prefect_api() -> Iterator[PrefectApi]:
    """Choose (or start, in the background) the Prefect API for the block's flow runs."""
    api = PrefectApi()
    try:
        yield api
    finally:
        api.close()


@contextmanager
def local_server(port: int = 4200, timeout_s: float = 90.0) -> Iterator[str]:
    """Run `prefect server start` (with its UI and scheduler) on 127.0.0.1 for as long as the
    block runs; yield its API URL. Its database lives in PREFECT_HOME, so deployments and run
    history survive a restart; its output goes to `server.log` there."""
    from prefect.settings import PREFECT_HOME

    api = f"http://127.0.0.1:{port}/api"
    log = Path(PREFECT_HOME.value()) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    # The UI asks the server where its API is; unset, the answer is the default port's, and a UI
    # served on another port shows "Can't connect to Server API".
    env = os.environ | {"PREFECT_UI_API_URL": api, "PREFECT_SERVER_API_PORT": str(port)}
    server = spawn([*command, "--port", str(port)], env, log)
    try:
        wait_until_up(api, server, timeout_s, f"see {log} (port {port} in use?)")
        yield api
    finally:
        stop(server)
