"""The stream job's options: one typed model, from which its flags and the DAG's arguments derive.

Importable without pyspark: the DAG file reads it at parse time. A field of `StreamOptions` made
with `_option` is a flag of jobs/lakehouse_stream.py named after the field (`trigger_seconds` ->
`--trigger-seconds`; a boolean that defaults to true is turned off with `--no-<name>`). A field
marked `variable` is templated in the DAG from the Airflow Variable `lakehouse_stream_<name>`, with
the field's default as the Variable's default. The README lists every flag (a test checks it).
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from lakehouse.tables import TableSpec

VARIABLE_PREFIX = "lakehouse_stream_"
CHECKPOINTS = "_checkpoints"
"""Where checkpoints live inside the lake unless `--checkpoint-uri` says otherwise."""

MAINTENANCE = "maintenance (0 disables a schedule)"
LEASE = "lease"

Bound = Literal["positive", "non_negative"]
RawSource = Literal["auto", "files", "landed"]
"""How the stream finds new raw objects (`StreamOptions.raw_source`)."""


@dataclass(frozen=True)
class Option:
    """How a field of `StreamOptions` is set from outside the job."""

    help: str
    bound: Bound | None = None
    """A number the job refuses unless it is > 0 (positive) or >= 0 (non_negative)."""
    variable: bool = False
    """Templated in the DAG from the Airflow Variable `lakehouse_stream_<field name>`."""
    group: str | None = None
    """The section of `--help` that lists the flag."""


def _option(
    default: Any = MISSING,
    *,
    help: str,
    bound: Bound | None = None,
    variable: bool = False,
    group: str | None = None,
) -> Any:
    return field(default=default, metadata={"option": Option(help, bound, variable, group)})


@dataclass(frozen=True)
class StreamOptions:
    lake_uri: str = _option(help="lake root: s3a://<bucket>, or any Hadoop URI (a local folder)")
    checkpoint_uri: str = _option("", help=f"default: <lake-uri>/{CHECKPOINTS}")
    s3_endpoint: str | None = _option(None, help="S3 API URL for a non-AWS store such as MinIO")
    s3_region: str = _option("us-east-1", help="the lake's S3 region")
    trigger_seconds: float = _option(
        5.0, help="seconds between micro-batches", bound="positive", variable=True
    )
    max_files_per_trigger: int = _option(
        1000, help="files one micro-batch reads at most", bound="positive", variable=True
    )
    gold_every_seconds: float = _option(
        20.0,
        help="how often the driver brings gold up to date with silver's new commits, between "
        "micro-batches; one refresh covers every commit since the last",
        bound="positive",
        variable=True,
    )
    raw_source: RawSource = _option(  # noqa: RUF009 (ruff does not see the alias is immutable)
        "auto",
        help="how the stream finds new raw objects: 'files' lists raw/ on every trigger (any "
        "lake); 'landed' reads the landed log after its position, at a cost that does not grow "
        "with the raw zone (an s3a://<bucket> lake whose collectors log what they land); 'auto' "
        "keeps the source the lake's stream started with, and starts a new s3a://<bucket> lake "
        "on 'landed', any other on 'files'",
    )
    once: bool = _option(False, help="process everything available, then exit")
    spark_log_level: str = _option(
        "WARN",
        help="level of Spark's own log in the driver (at INFO it writes some 9,000 lines a "
        "minute, each one through the Airflow task's log)",
    )
    optimize_minutes: float = _option(
        15.0,
        help="OPTIMIZE every table this often",
        bound="non_negative",
        variable=True,
        group=MAINTENANCE,
    )
    vacuum_minutes: float = _option(
        360.0,
        help="VACUUM every table this often",
        bound="non_negative",
        variable=True,
        group=MAINTENANCE,
    )
    vacuum_retain_hours: float = _option(
        48.0,
        help="VACUUM keeps files removed less than this long ago",
        bound="non_negative",
        variable=True,
        group=MAINTENANCE,
    )
    compact_min_files: int = _option(
        0,
        help="Delta auto-compaction after a commit that leaves this many small files in a "
        "partition (0: off; the scheduled OPTIMIZE compacts)",
        bound="non_negative",
        group=MAINTENANCE,
    )
    log_retention_hours: float = _option(
        48.0,
        help="delta.logRetentionDuration of every table (bounds _delta_log and time travel)",
        bound="positive",
        group=MAINTENANCE,
    )
    lease_ttl_seconds: float = _option(
        60.0,
        help="the lease expires this long after its last renewal",
        bound="positive",
        group=LEASE,
    )
    lease_wait_seconds: float = _option(
        0.0,
        help="wait this long for another driver's lease to expire before refusing",
        bound="non_negative",
        group=LEASE,
    )
    poll_seconds: float = _option(
        2.0,
        help="how often the driver checks for a stop request and a lost lease, records progress",
        bound="positive",
    )
    txn_suffix: str = _option(
        "", help="appended to Delta txnAppIds: change it when checkpoints are deleted"
    )
    progress: bool = _option(True, help="do not write ops.stream_progress")
    stop_timeout_seconds: float = 300.0
    """How long a graceful stop waits for the running micro-batches."""

    def table(self, spec: TableSpec) -> str:
        return f"{self.lake_uri.rstrip('/')}/{spec.path}"

    @property
    def checkpoint_root(self) -> str:
        """The folder of every query's checkpoint."""
        return (self.checkpoint_uri or f"{self.lake_uri.rstrip('/')}/{CHECKPOINTS}").rstrip("/")

    def checkpoint(self, query_name: str) -> str:
        return f"{self.checkpoint_root}/{query_name}"

    def txn_app_id(self, writer: str, spec: TableSpec) -> str:
        """The Delta txnAppId of one writer's writes to one table (see `lakehouse.spark.sinks`)."""
        return f"{writer}{self.txn_suffix}:{spec.qualified_name}"


def job_options() -> list[tuple[Field[Any], Option]]:
    """The fields of `StreamOptions` that are job options, in declaration order."""
    return [(f, f.metadata["option"]) for f in fields(StreamOptions) if "option" in f.metadata]


def flag(option_field: Field[Any]) -> str:
    """The job's flag for a field: `--no-<name>` for a boolean that defaults to true."""
    name = option_field.name.replace("_", "-")
    return f"--no-{name}" if option_field.default is True else f"--{name}"


def variable_name(option_field: Field[Any]) -> str:
    """The Airflow Variable that sets a `variable` option in the DAG."""
    return f"{VARIABLE_PREFIX}{option_field.name}"


def argument_parser(prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """The job's command line, one flag per option."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    groups: dict[str, argparse._ArgumentGroup] = {}
    hints = get_type_hints(StreamOptions)
    for option_field, option in job_options():
        target: argparse.ArgumentParser | argparse._ArgumentGroup = parser
        if option.group is not None:
            target = groups.setdefault(option.group, parser.add_argument_group(option.group))
        kind = _scalar(hints[option_field.name])
        name = flag(option_field)
        if kind is bool:
            action = "store_false" if option_field.default is True else "store_true"
            target.add_argument(name, dest=option_field.name, action=action, help=option.help)
            continue
        required = option_field.default is MISSING
        default = None if required else option_field.default
        shown = "" if default in (None, "") else " (default: %(default)s)"
        target.add_argument(
            name,
            dest=option_field.name,
            type=_converter(kind, option.bound),
            choices=_choices(hints[option_field.name]),
            required=required,
            default=default,
            help=option.help + shown,
        )
    return parser


def parse_options(argv: Sequence[str], prog: str, description: str | None = None) -> StreamOptions:
    return StreamOptions(**vars(argument_parser(prog, description).parse_args(argv)))


def dag_arguments(**values: str) -> list[str]:
    """spark-submit application args: `values` by field name, and every `variable` option.

    A `variable` option not in `values` reads its Airflow Variable when the task is rendered,
    with the option's default when the Variable is not set.
    """
    known = {option_field.name for option_field, _ in job_options()}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"not options of the stream job: {', '.join(sorted(unknown))}")
    args: list[str] = []
    for option_field, option in job_options():
        if option_field.name in values:
            args += [flag(option_field), values[option_field.name]]
        elif option.variable:
            template = f"var.value.get('{variable_name(option_field)}', '{option_field.default}')"
            args += [flag(option_field), "{{ " + template + " }}"]
    return args


def _scalar(hint: Any) -> type:
    """`float` of `float`, `str` of `str | None` and of a `Literal` of strings (its choices)."""
    if isinstance(hint, types.UnionType):
        (kind,) = [arg for arg in hint.__args__ if arg is not type(None)]
        return kind
    if get_origin(hint) is Literal:
        return str
    return hint


def _choices(hint: Any) -> tuple[str, ...] | None:
    """The values of a `Literal`; None (any value) for other types."""
    return get_args(hint) if get_origin(hint) is Literal else None


def _converter(kind: type, bound: Bound | None) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        value = kind(text)
        if bound == "positive" and value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        if bound == "non_negative" and value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its error messages
    return convert
