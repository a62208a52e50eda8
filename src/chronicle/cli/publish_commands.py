"""Publishing commands: ``chronicle relay``, and the publishing lag ``chronicle stats`` shows."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer
from prometheus_client import start_http_server
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chronicle.bootstrap import open_publisher
from chronicle.cli.app import (
    StoreOption,
    command,
    console,
    console_err,
    fail,
    print_json,
    store_for,
)
from chronicle.config import get_settings
from chronicle.errors import ChronicleError, ConfigurationError, PublishError
from chronicle.publishing.relay import Lag, Relay, checkpoint_name, publishing_lag
from chronicle.store.ports import EventStore

DISABLED = (
    "publishing is off (EVENT_PUBLISH_TO_QUEUE=false). To turn it on, set "
    "EVENT_PUBLISH_TO_QUEUE=true and EVENT_QUEUE_URL=redis://host:6379/0 or "
    "amqp://user:password@host:5672/ (in the environment or .env)."
)


def configured_lag(store: EventStore) -> Lag | None:
    """The configured relay's lag, or None when publishing is off."""
    settings = get_settings()
    if not settings.publish_to_queue:
        return None
    publisher = open_publisher(settings=settings)
    try:
        return publishing_lag(store, checkpoint_name(publisher.destination))
    finally:
        publisher.close()


@command("relay")
def relay(
    store_url: str | None = StoreOption,
    once: bool = typer.Option(
        False, "--once", help="Publish everything committed so far, then exit."
    ),
    batch_size: int = typer.Option(
        500, "--batch-size", min=1, max=10_000, help="Events per batch (one confirm wait each)."
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve Prometheus metrics on this port (/metrics)."
    ),
    idle_wait: float = typer.Option(
        0.2, "--idle-wait", min=0.01, help="Seconds between polls of the log once caught up."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="With --once: print what was published as JSON."
    ),
) -> None:
    """Publish committed events to EVENT_QUEUE_URL (Redis Stream or RabbitMQ exchange).

    Follows the log in commit order from the relay's own checkpoint, publishes each batch, waits
    for the broker's confirmation and only then moves the checkpoint: at least once, per-aggregate
    order kept, nothing lost across broker outages or relay restarts. Stops on SIGINT/SIGTERM.
    Exit codes: 0 stopped cleanly, 1 broker or store unreachable, 2 publishing off or bad setting.
    """
    settings = get_settings()
    if not settings.publish_to_queue:
        fail(DISABLED, code=2)
    try:
        publisher = open_publisher(settings=settings)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    try:
        publisher.connect()
    except PublishError as exc:
        fail(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)  # its INFO narrates every connection
    try:
        with store_for(store_url) as store:
            worker = Relay(store, publisher, batch_size=batch_size)
            if metrics_port is not None:
                start_http_server(metrics_port, registry=worker.metrics.registry)
            if once:
                _publish_pending(worker, as_json)
            else:
                _follow(worker, idle_wait)
    finally:
        publisher.close()


def _publish_pending(worker: Relay, as_json: bool) -> None:
    try:
        pending = worker.refresh_lag().events
        with Progress(
            TextColumn("publishing to {task.fields[destination]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console_err,
            disable=as_json,
        ) as progress:
            task = progress.add_task("", total=pending, destination=worker.publisher.destination)
            worker.on_published = lambda count: progress.advance(task, count)
            total = worker.run_until_caught_up()
    except ChronicleError as exc:
        fail(f"{exc} (the checkpoint stays at position {worker.position}; run again to resume)")
    if as_json:
        print_json(
            {
                "published": total,
                "destination": worker.publisher.destination,
                "checkpoint": worker.checkpoint,
                "position": worker.position,
            }
        )
        return
    console.print(
        f"published {total} events to {worker.publisher.destination}; "
        f"checkpoint {worker.checkpoint} at position {worker.position or '-'}"
    )


def _follow(worker: Relay, idle_wait: float) -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    console_err.print(
        f"relay: publishing to {worker.publisher.destination} from position "
        f"{worker.position or 0} (checkpoint {worker.checkpoint}); Ctrl-C to stop",
        highlight=False,
    )
    worker.follow(stop, idle_wait=idle_wait)
    console_err.print(f"relay: stopped at position {worker.position}", highlight=False)
