"""``monitor digest preview`` and ``monitor deliveries``: the outbox, seen and steered."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.app import alert_stage
from monitor.cli.params import LIMIT, ROW_ID
from monitor.cli.render import deliveries_table
from monitor.cli.state import State
from monitor.cli.term import err, markup, out
from monitor.core.printable import without_controls

console = out
errors = err


@click.group()
def digest() -> None:
    """Digests: what a route sends."""


@digest.command("preview")
@click.argument("route")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "json", "subject"]),
    default="text",
    show_default=True,
    help="text and html as in the email; json as the route's webhook would post it.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to a file.")
@click.pass_obj
def preview(state: State, route: str, fmt: str, output: Path | None) -> None:
    """Render ROUTE's next digest; nothing is sent, nothing is marked as sent."""
    repo = state.repo()
    try:
        made, rendered = alert_stage(state.config, repo, state.clock).preview(route)
    finally:
        repo.close()
    text = {
        "text": rendered.text,
        "html": rendered.html,
        "json": rendered.json,
        "subject": rendered.subject,
    }[fmt]
    if output:
        output.write_text(text, encoding="utf-8")
        errors.print(markup("wrote {}: {} stories, {} more", output, len(made.entries), made.more))
    else:
        click.echo(without_controls(text))
    if not made:
        errors.print(markup("route {}: nothing new to send", route))


@click.group()
def deliveries() -> None:
    """The outbox: each digest's delivery, its attempts and errors."""


@deliveries.command("list")
@click.option(
    "--state",
    "wanted",
    type=click.Choice(["pending", "sent", "parked", "held"]),
    help="Only deliveries in this state.",
)
@click.option("--limit", type=LIMIT, default=30, show_default=True, help="Deliveries shown.")
@click.pass_obj
def list_deliveries(state: State, wanted: str | None, limit: int) -> None:
    """Deliveries, the newest first: state, attempts, next try and last error."""
    repo = state.repo()
    try:
        rows = repo.deliveries(state=wanted, limit=limit)
        disabled = {
            n: s.disabled_reason for n, s in repo.route_states().items() if s.disabled_reason
        }
    finally:
        repo.close()
    if not rows:
        console.print(markup("no deliveries" + (" {}" if wanted else ""), wanted))
    else:
        console.print(deliveries_table(rows, state.clock.now()))
    for name, reason in disabled.items():
        console.print(
            markup("[red]route {} is disabled:[/] {} (monitor deliveries retry ID)", name, reason)
        )


@deliveries.command("retry")
@click.argument("delivery_id", type=ROW_ID)
@click.pass_obj
def retry(state: State, delivery_id: int) -> None:
    """Send a parked (or waiting) delivery again at the next check; re-enables its route."""
    repo = state.repo()
    try:
        found = repo.retry_delivery(delivery_id, state.clock.now())
    finally:
        repo.close()
    if found is None:
        raise click.ClickException(
            f"no delivery {delivery_id} waiting to be sent (sent already, being sent now, "
            "or no such id: monitor deliveries list)"
        )
    console.print(
        markup(
            "delivery {} to route {} will be sent at the next check "
            "(the daemon, or monitor run --once)",
            found.id,
            found.route,
        )
    )
