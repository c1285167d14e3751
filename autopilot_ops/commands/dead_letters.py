"""`dlq list|redrive`: what failed, why, and sending it back where it was going."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape

from autopilot_ops import dlq
from autopilot_ops.commands.output import emit, json_option, table
from autopilot_ops.commands.session import Session, current_session


@click.group("dlq")
def dead_letters() -> None:
    """Dead-letter queues: what failed, why, and sending it back."""


def _wait(session: Session) -> int:
    return 0 if session.local is not None or session.backend().label.startswith("local") else 1


@dead_letters.command("list")
@click.option(
    "--queue",
    help="Only this queue (ProvisioningDLQ, LifecycleDLQ, EventDeliveryDLQ, AsyncFailureDLQ, AlertDeliveryDLQ).",
)
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Messages read per queue."
)
@json_option
def dlq_list(queue: str | None, limit: int, as_json: bool) -> None:
    """Every dead letter: the queue, what it is, why it failed, where a redrive would send it."""
    session = current_session()
    backend = session.backend()
    listing = dlq.list_letters(backend, queue=queue, limit=limit, wait=_wait(session), progress=session.progress)
    messages = [letter.as_dict() for letter in listing.letters]
    data = {"counts": listing.counts, "messages": messages}

    def render(out: Console) -> None:
        out.print("  ".join(f"{escape(name)}: {count}" for name, count in listing.counts.items()))
        rows = [(m["queue"], m["sent_at"], m["what"], m["why"], m["redrive_to"] or m["note"]) for m in messages]
        out.print(table(f"{len(rows)} dead letters", ["queue", "sent", "what", "why", "redrive to"], rows))

    emit(as_json, data, render)


@dead_letters.command("redrive")
@click.option("--queue", help="Only this queue.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000), help="Messages per queue.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent where; change nothing.")
@json_option
def dlq_redrive(queue: str | None, limit: int, dry_run: bool, as_json: bool) -> None:
    """Send dead letters back to the queue or function they were going to; the others stay."""
    session = current_session()
    backend = session.backend()
    result = dlq.redrive(
        backend, queue=queue, limit=limit, wait=_wait(session), dry_run=dry_run, progress=session.progress
    )

    def render(out: Console) -> None:
        verb = "would send back" if dry_run else "sent back"
        rows = [(m["queue"], m["what"], m["redrive_to"], m.get("outcome", "")) for m in result.sent]
        out.print(table(f"{verb}: {len(result.sent)}", ["queue", "what", "to", "outcome"], rows))
        if result.kept:
            out.print(
                table(
                    f"left in place: {len(result.kept)}",
                    ["queue", "what", "why"],
                    [(m["queue"], m["what"], m["note"]) for m in result.kept],
                )
            )

    emit(as_json, result.as_dict(), render)
