"""``chronicle serve``: the chat service, with the worker's pieces beside it."""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from chronicle.cli.app import (
    StoreOption,
    command,
    console,
    console_err,
    fail,
    settings_for,
)
from chronicle.config import EventConfig
from chronicle.errors import (
    ChronicleError,
    ConfigurationError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    import uvicorn

    from chronicle.chat.api.dependencies import Services
    from chronicle.chat.wiring import ChatContext
    from chronicle.metrics import Metrics

POLL_INTERVAL = 0.5
"""Seconds between polls of the log by the in-process read models when no commit woke them."""
_CHECK_TICKS = 50  # uvicorn ticks (0.1 s each) between checks that every worker piece is alive


def open_services_or_exit(settings: EventConfig, metrics: Metrics | None = None) -> Services:
    """The service's parts for ``settings``; a bad setting exits 2, an unreachable store 1."""
    from chronicle.chat.api.app import open_services

    try:
        return open_services(settings, metrics)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    except StoreUnavailableError as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or exit 1 naming the port when it cannot be had."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror}; give another --host", code=2)
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is already in use (another chronicle serve?): stop what "
                f"listens there, or choose a free port with --port",
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    return sock


class Worker:
    """The worker's pieces (async read models, the sealer, the relay when enabled) as threads of
    this process, on a chat context of their own."""

    def __init__(self, chat: ChatContext, seal_interval: float) -> None:
        from chronicle.chat.wiring import worker_tasks

        self.chat = chat
        self.stop = threading.Event()
        try:
            self.tasks = worker_tasks(
                chat, self.stop, poll_interval=POLL_INTERVAL, seal_interval=seal_interval
            )
        except BaseException:
            chat.close()
            raise
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=task, name=name, daemon=True)
            for name, task in self.tasks.items()
        ]
        for thread in self.threads:
            thread.start()

    def dead(self) -> list[str]:
        return [thread.name for thread in self.threads if not thread.is_alive()]

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.chat.close()


def freeze_start_up_heap() -> None:
    """Leave what start-up made (modules, the app and its routes, schemas, pools) out of every
    later garbage collection. A full collection walked all of it while requests waited: with
    the heap frozen once the service is up, ``POST /messages``' p99 went from 65-72 to 49-55
    ms under wrk with 16 connections (PostgreSQL, measured side by side)."""
    gc.collect()
    gc.freeze()


def _server(config: uvicorn.Config, worker: Worker | None) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server that starts the worker's pieces once the app is up and stops itself
        when one of them dies."""

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.died: list[str] = []

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                return
            freeze_start_up_heap()
            if worker is not None:
                worker.start()
                console.print(f"worker running in this process: {', '.join(worker.tasks)}")

        async def on_tick(self, counter: int) -> bool:
            if worker is not None and counter % _CHECK_TICKS == 0 and worker.threads:
                self.died = worker.dead()
                if self.died:
                    console_err.print(
                        f"[bold red]stopping: {', '.join(self.died)} ended unexpectedly",
                        highlight=False,
                    )
                    return True
            return await super().on_tick(counter)

    return Server(config)


@command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    store_url: str | None = StoreOption,
    demo: bool = typer.Option(
        False,
        "--demo",
        help="First create, if absent, the users admin, auditor, alice and bob (password "
        "<username>-demo), a project, messages and a ticket.",
    ),
    run_worker: bool = typer.Option(
        True,
        "--worker/--no-worker",
        help="Also run the worker's pieces in this process (async read models, the sealer, the "
        "relay when EVENT_PUBLISH_TO_QUEUE=true); --no-worker when `chronicle worker` runs apart.",
    ),
    access_log: bool = typer.Option(
        False, "--access-log", help="Log every request (uvicorn's access log) to stdout."
    ),
) -> None:
    """Run the chat service (OpenAPI docs at /docs) on the configured store until Ctrl-C.

    By default the worker's pieces run beside it, so the async read models move and the log is
    sealed every second. Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 the port is in use, the
    store is unreachable or a worker piece died, 2 a bad setting.
    """
    import uvicorn

    from chronicle.chat.api import create_app
    from chronicle.chat.service.demo import DEMO_USERS, seed_demo
    from chronicle.chat.wiring import open_chat
    from chronicle.metrics import Metrics

    try:
        settings = settings_for(store_url)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    sock = listening_socket(host, port)  # before any banner: a taken port is a clear error
    worker: Worker | None = None
    metrics = Metrics()  # the process's one registry: the demo's appends and the worker's count
    try:
        if demo:
            services = open_services_or_exit(settings, metrics)
            try:
                created = seed_demo(services.writer, services.credentials)
            except ChronicleError as exc:
                fail(f"cannot create the demo data: {exc}")
            finally:
                services.chat.close()
            console.print("demo data " + ("created" if created else "already present"))
            console.print(
                "log in as " + ", ".join(f"{name} ({role})" for name, role in DEMO_USERS)
                + " with the password <username>-demo, e.g.:", highlight=False, soft_wrap=True,
            )  # fmt: skip
            console.print(
                f"  curl -s -X POST http://{host}:{port}/auth/token "
                "-d username=alice -d password=alice-demo",
                highlight=False,
                soft_wrap=True,
            )
        if run_worker:
            try:
                worker = Worker(
                    open_chat(settings=settings, metrics=metrics), settings.seal_interval
                )
            except ConfigurationError as exc:
                fail(str(exc), code=2)
            except ChronicleError as exc:
                fail(str(exc))
        config = uvicorn.Config(
            create_app(settings, metrics=metrics),
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=access_log,
            server_header=False,  # announce no server version
        )
        if access_log:
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        server = _server(config, worker)
        console.print(
            f"Chronicle chat service on http://{host}:{port} "
            f"(audit page: http://{host}:{port}/ui, API docs: /docs)",
            highlight=False,
        )
        _run(server, sock)
    finally:
        sock.close()
        if worker is not None:
            worker.close()
    if not server.started:
        fail("the chat service did not start (see the error above)")
    if getattr(server, "died", None):
        raise typer.Exit(1)
    console.print("stopped")


def _run(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run uvicorn on ``sock`` until SIGINT or SIGTERM. uvicorn re-raises the signal that stopped
    it once it is done; the handlers here take it, so Ctrl-C ends in exit 0, not a traceback."""

    def stopped(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    previous: dict[int, Any] = {
        sig: signal.signal(sig, stopped) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's own exit when the app's startup failed; it logged why
        pass
    except (ConfigurationError, StoreUnavailableError) as exc:
        fail(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
