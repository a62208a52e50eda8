"""Read-model commands: ``chronicle replay``, ``chronicle projections`` and ``chronicle worker``."""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import AbstractContextManager
from types import FrameType

import typer
from prometheus_client import start_http_server
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from chronicle.chat.domain.events import chat_events
from chronicle.chat.wiring import ChatContext, open_chat, worker_tasks
from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    console_err,
    fail,
    opened,
    print_json,
)
from chronicle.errors import ChronicleError
from chronicle.projections.rebuild import rebuild_all
from chronicle.projections.runner import ProjectionRunner


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "… events/s", style="cyan")


def chat_for(url: str | None) -> AbstractContextManager[ChatContext]:
    """Open the store and the read models for a command; errors become exit codes."""
    return opened(open_chat, url)


def _runner(chat: ChatContext, name: str) -> ProjectionRunner:
    return chat.runner(chat.projection_classes[name](chat_events))


@command("replay")
def replay(
    names: list[str] = typer.Argument(None, help="Read models to rebuild (default: all)."),
    retry_parked: bool = typer.Option(
        False, "--retry-parked", help="Re-apply parked events instead of rebuilding."
    ),
    batch_size: int = typer.Option(2000, min=1, max=100_000, help="Events per transaction."),
    without_archived: bool = typer.Option(
        False,
        "--without-archived",
        help="After retention, rebuild from the events the store still holds, knowing that the "
        "rows of archived events leave the read models.",
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Rebuild read models from the whole log and swap them in when caught up.

    Readers keep seeing the old read model until the swap; writers carry on. Safe to interrupt
    and run again: it resumes where it stopped. After retention the store no longer holds the
    archived events, so a rebuild would drop what they made: it is refused without
    --without-archived.
    """
    with chat_for(store_url) as chat:
        store = chat.store
        if (
            not retry_parked
            and not without_archived
            and store.capabilities.retention
            and store.retention_cuts()  # type: ignore[attr-defined]
        ):
            fail(
                "retention moved events of this store to the archive: a rebuild from the store "
                "would drop the rows they made from the read models; pass --without-archived "
                "to rebuild from what the store holds anyway",
                2,
            )
        known = list(chat.projection_classes)
        chosen = list(dict.fromkeys(names or known))  # each once: one pass feeds them all
        unknown = [name for name in chosen if name not in known]
        if unknown:
            fail(f"no read model is called {', '.join(unknown)}; known: {', '.join(known)}", 2)
        if retry_parked:
            retried = []
            for name in chosen:
                applied, remaining = _runner(chat, name).retry_parked()
                retried.append({"name": name, "reapplied": applied, "still_parked": remaining})
                if not as_json:
                    console.print(
                        f"{name}: {applied} parked events re-applied, {remaining} still parked"
                    )
            if as_json:
                print_json(retried)
            return
        rebuilt = []
        with Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            # One pass over the log feeds every chosen read model (see rebuild_all).
            tasks = [progress.add_task(name, total=None) for name in chosen]

            def report(done: int, total: int) -> None:
                for task in tasks:
                    progress.update(task, completed=done, total=total)

            results = rebuild_all(
                chat.store,
                [(chat.projection_classes[name], chat.modes[name]) for name in chosen],
                chat_events,
                batch_size=batch_size,
                progress=report,
            )
            for name, task, result in zip(chosen, tasks, results, strict=True):
                progress.update(task, description=f"{name} ✓")
                rebuilt.append({"name": name, "events": result.events, "position": result.position})
        if as_json:
            print_json(rebuilt)


@command("projections")
def projections_status(
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Each read model's mode, checkpoint, lag (events and seconds) and parked events."""
    with chat_for(store_url) as chat:
        rows = [status.to_dict() for status in chat.projection_status()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="read models", title_justify="left")
    for column in ("name", "mode", "checkpoint", "lag (events)", "lag (s)", "parked"):
        table.add_column(column, justify="left" if column in ("name", "mode") else "right")
    for row in rows:
        table.add_row(
            str(row["name"]), str(row["mode"]), str(row["checkpoint"]),
            str(row["lag_events"]), f"{row['lag_seconds']:.1f}", str(row["parked"]),
        )  # fmt: skip
    console.print(table)


@command("worker")
def worker(
    store_url: str | None = StoreOption,
    poll_interval: float = typer.Option(0.5, min=0.01, help="Seconds between polls when idle."),
    seal_interval: float | None = typer.Option(
        None,
        min=0.1,
        help="Seal new events within this many seconds of their commit (tamper evidence); "
        "default CHRONICLE_SEAL_INTERVAL (1).",
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve Prometheus metrics on this port (/metrics)."
    ),
    metrics_interval: float = typer.Option(
        5.0, min=0.1, help="Seconds between refreshes of the lag and size gauges."
    ),
) -> None:
    """Run the background work: async read models, the sealer and, when enabled, the relay.

    The relay runs when EVENT_PUBLISH_TO_QUEUE=true. Stops cleanly on Ctrl-C or SIGTERM (exit 0);
    exits 1 when one of its pieces died. Every piece resumes from its checkpoint on restart.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with chat_for(store_url) as chat:
        interval = seal_interval or chat.settings.seal_interval
        tasks = worker_tasks(chat, stop, poll_interval=poll_interval, seal_interval=interval)
        if metrics_port is not None:
            start_http_server(metrics_port, registry=chat.metrics.registry)
        threads = [threading.Thread(target=task, name=name) for name, task in tasks.items()]
        for thread in threads:
            thread.start()
        console.print(f"worker running: {', '.join(tasks)}")
        dead: list[str] = []
        while not stop.wait(metrics_interval):
            dead = [thread.name for thread in threads if not thread.is_alive()]
            if dead:
                console_err.print(
                    f"[bold red]worker stopping: {', '.join(dead)} ended unexpectedly"
                )
                stop.set()
                break
            try:
                chat.refresh_metrics()
            except ChronicleError as exc:  # the store is away: keep the last values, say so
                logging.getLogger(__name__).warning("cannot refresh metrics: %s", exc)
        for thread in threads:
            thread.join()
        console.print("worker stopped")
    if dead:
        raise typer.Exit(1)  # a supervisor restarts it; every piece resumes from its checkpoint
