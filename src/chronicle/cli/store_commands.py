"""Store commands: ``chronicle migrate`` and ``chronicle stats``."""

from __future__ import annotations

import typer
from rich.table import Table

from chronicle.chat.wiring import projection_modes
from chronicle.cli.app import JsonOption, StoreOption, command, console, print_json, store_for
from chronicle.cli.publish_commands import configured_lag
from chronicle.compression import stored_sizes
from chronicle.errors import UnsupportedOperationError
from chronicle.integrity.merkle_log import build_merkle_log
from chronicle.projections.status import ProjectionStatus, projection_status
from chronicle.store.ports import EventStore


@command("migrate")
def migrate(
    store_url: str | None = StoreOption,
    create_roles: bool = typer.Option(
        False,
        "--create-roles",
        help="PostgreSQL: also create two least-privilege roles: the application's (INSERT and "
        "SELECT events and snapshots, read the evidence) and the sealer's (read, and write only "
        "seals, the Merkle log and snapshot attestations). Neither may UPDATE, DELETE or "
        "TRUNCATE.",
    ),
    role: str = typer.Option(
        "chronicle_app", "--role", help="Name of the application role --create-roles creates."
    ),
    sealer_role: str = typer.Option(
        "chronicle_sealer",
        "--sealer-role",
        help="Name of the sealer's role --create-roles creates (for the worker and "
        "chronicle seal).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create or upgrade the event store's schema (idempotent).

    A store sealed before the Merkle log existed gets it built over its sealed events (checked
    against the latest seal; refused, exit 1, when they no longer match it).
    """
    statements: list[str] | None = None
    sealer_statements: list[str] | None = None
    not_applicable: str | None = None
    with store_for(store_url) as store:
        backend = store.backend
        version = store.migrate()
        if create_roles:
            try:
                statements = list(store.create_app_role(role))
            except UnsupportedOperationError as exc:
                not_applicable = str(exc)
            else:
                sealer_statements = list(store.create_sealer_role(sealer_role))
        built = build_merkle_log(store)
    if as_json:
        print_json(
            {
                "backend": backend,
                "schema_version": version,
                "merkle_leaves_built": built,
                "role": role if statements is not None else None,
                "role_statements": statements,
                "sealer_role": sealer_role if sealer_statements is not None else None,
                "sealer_role_statements": sealer_statements,
                "role_not_applicable": not_applicable,
            }
        )
        return
    console.print(f"{backend} store is at schema version {version}")
    if built:
        console.print(f"built the Merkle log over {built} events sealed before it existed")
    if not_applicable is not None:
        console.print(f"--create-roles does not apply: {not_applicable}", highlight=False)
    if statements is None or sealer_statements is None:
        return
    for statement in [*statements, *sealer_statements]:
        console.print(f"  {statement}", highlight=False)
    console.print(
        f"role {role} may INSERT and SELECT events and snapshots and read the evidence; role "
        f"{sealer_role} may read, and write only seals, the Merkle log and snapshot "
        f"attestations. Give each to a login role, e.g. CREATE ROLE app LOGIN PASSWORD '…' "
        f"IN ROLE {role}; CREATE ROLE sealer LOGIN PASSWORD '…' IN ROLE {sealer_role};",
        highlight=False,
    )


@command("stats")
def stats(
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Totals per aggregate type and event type, oldest and newest event, store size."""
    with store_for(store_url) as store:
        result = store.stats()
        lag = configured_lag(store)
        read_models = read_model_status(store)
        payloads = stored_sizes(store) if store.capabilities.compression else []
    stored = sum(size.stored_bytes for size in payloads)
    ratio = sum(size.logical_bytes for size in payloads) / stored if stored else None
    if as_json:
        print_json(
            {
                **result.to_dict(),
                "publishing_lag": lag.to_dict() if lag else None,
                "read_models": [status.to_dict() for status in read_models],
                "payloads": {
                    "by_codec": [size.to_dict() for size in payloads],
                    "ratio": None if ratio is None else round(ratio, 3),
                },
            }
        )
        return
    console.print(
        f"[bold]{result.total_events}[/] events in [bold]{result.aggregates}[/] aggregates "
        f"({result.backend}, schema {result.schema_version}, {_size(result.size_bytes)})"
    )
    console.print(f"oldest: {result.oldest_event or '-'}   newest: {result.newest_event or '-'}")
    if lag is not None:
        console.print(f"publishing lag: {lag.events} events, {lag.seconds:.1f} s")
    if payloads:
        console.print(
            "payloads: "
            + ", ".join(
                f"{size.codec} {size.events} events {_size(size.stored_bytes)}" for size in payloads
            )
            + f" (stored {ratio or 1.0:.2f}x smaller than their content)",
            highlight=False,
        )
    for status in read_models:
        console.print(
            f"read model {status.name} ({status.mode}): lag {status.lag_events} events, "
            f"{status.lag_seconds:.1f} s; {status.parked} parked",
            highlight=False,
        )
    for title, counts in (
        ("aggregate type", result.by_aggregate_type),
        ("event type", result.by_event_type),
    ):
        if not counts:
            continue
        table = Table(title=f"events by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("events", justify="right")
        for name, count in counts.items():
            table.add_row(name, str(count))
        console.print(table)


def read_model_status(store: EventStore) -> list[ProjectionStatus]:
    """Lag and parked events of each chat read model (see ``chronicle projections``)."""
    from chronicle.chat.read_models import READ_MODELS

    classes = {cls.name: cls for cls in READ_MODELS}
    return projection_status(store, classes, projection_modes())


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
