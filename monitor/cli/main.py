"""Entry point: ``monitor [--config PATH] COMMAND [--config PATH]``."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from monitor import __version__
from monitor.app import App
from monitor.cli.failures import database_failure, driver_error, report
from monitor.cli.render import alert_summary, cycle_summary, match_summary, near_summary
from monitor.cli.state import State
from monitor.cli.term import err, markup, out, printable
from monitor.config import Config, env_names
from monitor.core.errors import ConfigError, MonitorError, WatchlistError
from monitor.core.types import CycleReport, FeedReport
from monitor.flow import Hooks, Step
from monitor.match.stage import MatchReport
from monitor.match.values import Watchlist
from monitor.meaning.source import MeaningState

console = out
CONFIG_HELP = "Configuration file [default: ./monitor.yaml, or $MONITOR_CONFIG]."
JSON_LOGS_HELP = "Logs as one JSON object per line (as log.format: json)."
STEPS: dict[Step, str] = {
    "near": "finding copies and stories",
    "match": "matching watchlists",
    "alert": "sending digests",
}


class Monitor(click.Group):
    """The root command: a database error becomes one line that names the database."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (MonitorError, click.ClickException):
            raise
        except Exception as exc:
            cause = driver_error(exc)
            if cause is None or not isinstance(ctx.obj, State):
                raise
            raise database_failure(cause, ctx.obj.database) from exc


@click.group(cls=Monitor, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    envvar="MONITOR_CONFIG",
    help=CONFIG_HELP,
)
@click.option("--json-logs", is_flag=True, help=JSON_LOGS_HELP)
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, json_logs: bool) -> None:
    """Monitor news feeds: poll, de-duplicate, match watchlists, send digests."""
    _json_logs(ctx, json_logs)
    ctx.obj = State(config_path)


def _json_logs(ctx: click.Context, wanted: bool) -> None:
    if wanted:
        os.environ["MONITOR_LOG_FORMAT"] = "json"  # read with the configuration, like any override


def _late_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    state = ctx.find_object(State)
    if value is not None and state is not None:
        state.config_path = value


def _accept_global_options(command: click.Command) -> None:
    """``--config`` and ``--json-logs`` after any command too: ``monitor feeds list --config X``
    (read before the command runs, like the same options before it)."""
    command.params += [
        click.Option(
            ["--config"],
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_late_config,
            help=CONFIG_HELP,
        ),
        click.Option(
            ["--json-logs"],
            is_flag=True,
            expose_value=False,
            callback=lambda ctx, param, value: _json_logs(ctx, value),
            help=JSON_LOGS_HELP,
        ),
    ]
    for sub in command.commands.values() if isinstance(command, click.Group) else ():
        _accept_global_options(sub)


@cli.command()
@click.option("--once", is_flag=True, help="Run one full cycle, print its summary, exit.")
@click.option(
    "--all", "every", is_flag=True, help="With --once: poll every active feed, due or not."
)
@click.option(
    "--stats-json",
    type=click.Path(path_type=Path),
    help="With --once: write the cycle's figures as JSON.",
)
@click.pass_obj
def run(state: State, once: bool, every: bool, stats_json: Path | None) -> None:
    """Run the daemon (or one cycle with --once)."""
    if not once and (every or stats_json):
        # The daemon polls each feed when it falls due (every new feed at once); forcing
        # them all at each start would ignore their Retry-After and error back-off.
        option = "--all" if every else "--stats-json"
        raise click.UsageError(f"{option} goes with --once: the daemon polls each feed when due")
    from monitor.core.memory import limit_malloc_arenas
    from monitor.daemon import Daemon

    limit_malloc_arenas()  # before the stages' threads exist
    # The event loop gives up the GIL on every socket call; with the default
    # 5 ms switch interval the database thread then keeps it far too long.
    sys.setswitchinterval(0.0005)
    app = App(state.config, clock=state.clock)
    try:
        app.sync_feeds()
        if once:
            _run_once(app, every, stats_json)
        else:
            console.print(
                markup(
                    "[b]monitor[/] {}: {} feeds, database {}. Ctrl-C stops.",
                    __version__,
                    len(app.repo.feeds()),
                    state.database,
                )
            )
            daemon = Daemon(
                app,
                on_poll=lambda cycle: _poll_summary(app, cycle),
                on_match=lambda matched: _match_summary(app, matched),
            )
            asyncio.run(_daemon(daemon))
    finally:
        app.close()


async def _daemon(daemon: Any) -> None:
    try:
        await daemon.run()
    finally:
        await daemon.app.flow.aclose()


def _run_once(app: App, every: bool, stats_json: Path | None) -> None:
    cpu_before, wall_before = _cpu(), time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("polling", total=None)

        def advance(report: FeedReport) -> None:
            progress.update(task, advance=1, description="polled " + printable(report.url)[-50:])

        def start(feeds: int) -> None:
            # The cycle says how many feeds it polls: asking the database first
            # would load them all twice.
            progress.update(task, total=feeds)

        def step(name: Step) -> None:
            progress.update(task, description=STEPS[name])

        hooks = Hooks(claimed=start, polled=advance, step=step)
        done = asyncio.run(app.flow.once(every, hooks))
    report, near, matched, sent = done.cycle, done.near, done.matched, done.sent
    app.parser.close()
    wall, cpu = time.perf_counter() - wall_before, _cpu() - cpu_before
    _summarise(app, report, matched)
    if near.articles:
        console.print(near_summary(near))
    if app.config.settings.routes:
        console.print(alert_summary(sent, app.repo.deliveries(limit=5), app.clock.now()))
    if stats_json:
        stats = _stats(report, wall, cpu) | {"matches": matched.matches, "copies": near.copies}
        stats_json.write_text(json.dumps(stats, indent=2) + "\n")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stats(report: CycleReport, wall: float, cpu: float) -> dict[str, Any]:
    totals = report.totals
    return {
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "feeds_polled": len(report.feeds),
        "new_articles": totals.new,
        "duplicates": totals.duplicates,
        "updated": totals.updated,
        "not_modified": report.count("not_modified"),
        "errors": sum(1 for f in report.feeds if f.error),
    }


def _summarise(app: App, report: CycleReport, matched: MatchReport) -> None:
    _poll_summary(app, report)
    _match_summary(app, matched)


def _match_summary(app: App, matched: MatchReport) -> None:
    if app.registry.watchlists or app.registry.errors:
        match_summary(matched, app.registry, console)


def _poll_summary(app: App, report: CycleReport) -> None:
    if not report.feeds:
        console.print(markup("Poll cycle: no feed was due."))
        return
    titles = {feed.id: feed.title or feed.url for feed in app.repo.feeds(include_inactive=True)}
    if len(report.feeds) > 50:
        totals = report.totals
        console.print(
            markup(
                "Poll cycle: {} feeds in {:.1f}s: {} new, {} copies, {} updated, "
                "{} not modified, {} errors",
                len(report.feeds),
                report.wall_s,
                totals.new,
                totals.duplicates,
                totals.updated,
                report.count("not_modified"),
                sum(1 for f in report.feeds if f.error),
            )
        )
        return
    cycle_summary(report, titles, app.clock.now(), console)


# Said by check for a watchlist with `examples:`, `not:` or `meaning:` while meaning
# is off: they are validated, and unused.
MEANING_UNUSED = "its examples, negatives and meaning settings are validated, and unused"


@cli.command()
@click.pass_obj
def check(state: State) -> None:
    """Validate the configuration and every watchlist (and report where they are wrong)."""
    from monitor.app import route_problems
    from monitor.watchlist.registry import load_all

    config = state.config
    console.print(
        markup(
            "[green]ok[/] {}: {} feeds, database {}",
            config.source,
            len(config.settings.feeds),
            state.database,
        )
    )
    good, bad = load_all(config.watchlist_dir)
    meaning = _meaning_state(config, good)
    for watchlist in good:
        console.print(
            markup(
                "[green]ok[/] {}: watchlist {}, {} actors and concepts, {} rules",
                watchlist.source,
                watchlist.name,
                len(watchlist.refs),
                len(watchlist.rules),
            )
        )
        if watchlist.uses_meaning and not meaning.on:
            console.print(markup("[yellow]note[/] {}: {}", watchlist.source, MEANING_UNUSED))
    if not good and not bad:
        console.print(markup("[yellow]no watchlists[/] in {}", config.watchlist_dir))
    if bad:
        raise WatchlistError("\n".join(bad.values()))
    problems = route_problems(config, good, os.environ, state.clock)
    if problems:
        raise ConfigError("\n".join(problems))
    for route in config.settings.routes:
        console.print(
            markup(
                "[green]ok[/] route {}: {}, {} ({}), watchlists: {}",
                route.name,
                route.channel,
                route.schedule,
                route.timezone,
                ", ".join(route.watchlists) or "all",
            )
        )


def _meaning_state(config: Config, watchlists: list[Watchlist]) -> MeaningState:
    """Load the model as the daemon would (a broken one is named here), and say so."""
    from monitor.app import meaning_source
    from monitor.match.meaning import concept_texts

    source = meaning_source(config)
    concepts = concept_texts(watchlists)
    source.judge(concepts)
    state = source.state
    if state.on:
        n = len(concepts)
        console.print(
            markup("[green]ok[/] meaning: model {}, {} concept{}", state.model, n, "s"[: n != 1])
        )
    elif state.why:
        console.print(markup("[yellow]note[/] meaning-matching is off: {}", state.why))
    return state


@cli.command("env")
def env_command() -> None:
    """List the environment variables that override settings."""
    for name, (section, key) in sorted(env_names().items()):
        console.print(markup("{}  overrides  {}.{}", name, section, key))


def _register() -> None:
    from monitor.cli import alerts, articles, feeds, matching, meaning, model, stories

    cli.add_command(feeds.feeds)
    cli.add_command(articles.articles)
    cli.add_command(matching.watchlist)
    cli.add_command(matching.explain)
    matching.watchlist.add_command(meaning.suggest)
    cli.add_command(model.model)
    cli.add_command(stories.stories)
    cli.add_command(alerts.digest)
    cli.add_command(alerts.deliveries)
    for command in cli.commands.values():
        _accept_global_options(command)


_register()


def main() -> None:
    try:
        cli.main(prog_name="monitor", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except (click.ClickException, MonitorError) as exc:
        report(exc)
