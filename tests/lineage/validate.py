#!/usr/bin/env python3
"""Checks OpenLineage events against the official OpenLineage Python client's generated model.

No published package carries the spec's JSON Schema files, so the events are checked against the
next best official source: the attrs classes that openlineage-python generates from those schemas
(`openlineage.client.generated`), at the version pinned in requirements.txt beside this file.

Each event is built, strictly, into `RunEvent` and the classes below it:

- every key must be a field of its class (core objects and facets alike: lakegate sends no field
  the facet version it cites does not declare), every required field must be present (also
  `producer`/`schemaURL` and each facet's `_producer`/`_schemaURL`, which the JSON Schema requires),
  and every value must have its field's type (no `null`: the schemas have no nullable fields; a
  boolean is not a number; an integer field refuses 1.5);
- each facet is built through its own generated class, chosen by its key, and its `_schemaURL` must
  be that class's `_get_schema()`, so an event cites the schema version whose fields it fills;
- the formats the JSON Schema names are checked too: `runId` a UUID, `eventTime` an RFC 3339
  date-time with a zone, `producer` and the schema URLs absolute URIs; the classes' own validators
  run as well.

Usage: validate.py FILE... (each file holds events one a line, or pretty-printed one after the
other). Prints one line per problem to stderr and exits 1 when any event is invalid, 0 when all are
valid, 3 when openlineage-python is missing or another version.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
import sys
import types
import typing
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"


def pinned_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("openlineage-python=="):
            return line.split("==", 1)[1]
    raise SystemExit(f"{REQUIREMENTS} pins no openlineage-python version")


class Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def uuid_format(path: str, value: str) -> None:
    if not UUID.match(value):
        raise Invalid(path, f"{value!r} is not a UUID (format: uuid)")


def date_time_format(path: str, value: str) -> None:
    ok = DATE_TIME.match(value)
    if ok:
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            ok = None
    if not ok:
        raise Invalid(path, f"{value!r} is not an RFC 3339 date-time with a zone (format: date-time)")


def uri_format(path: str, value: str) -> None:
    u = urlparse(value)
    if not u.scheme or not (u.netloc or u.path):
        raise Invalid(path, f"{value!r} is not an absolute URI (format: uri)")


# The JSON Schema formats of the fields lakegate fills (OpenLineage.json 2-0-2).
FORMATS = {
    "runId": uuid_format,
    "eventTime": date_time_format,
    "producer": uri_format,
    "schemaURL": uri_format,
    "_producer": uri_format,
    "_schemaURL": uri_format,
}

# Required by the JSON Schema though the classes give them a default (BaseEvent, BaseFacet).
ALWAYS_REQUIRED = {"producer", "schemaURL", "_producer", "_schemaURL"}


def main() -> int:
    want = pinned_version()
    try:
        have = metadata.version("openlineage-python")
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        print(
            f"validate.py needs openlineage-python {want} (found {have or 'none'}) for {sys.executable}: "
            f"install it with `{sys.executable} -m pip install -r {REQUIREMENTS}` (.ci/test does this)",
            file=sys.stderr,
        )
        return 3

    import attr
    from openlineage.client.generated import base
    from openlineage.client.generated.data_quality_assertions_dataset import (
        DataQualityAssertionsDatasetFacet,
    )
    from openlineage.client.generated.data_quality_metrics_input_dataset import (
        DataQualityMetricsInputDatasetFacet,
    )
    from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
    from openlineage.client.generated.error_message_run import ErrorMessageRunFacet

    # The facets lakegate sends, by where they sit (the base class of a facets map's values) and key.
    # `dataQualityAssertions` is an input facet that lakegate also puts under a dataset's `facets`
    # for consumers that read only those; the core schema asks a dataset facet for no more than
    # `_producer` and `_schemaURL`, which it has.
    facets = {
        base.RunFacet: {"errorMessage": ErrorMessageRunFacet},
        base.JobFacet: {},
        base.DatasetFacet: {
            "version": DatasetVersionDatasetFacet,
            "dataQualityAssertions": DataQualityAssertionsDatasetFacet,
        },
        base.InputDatasetFacet: {
            "dataQualityAssertions": DataQualityAssertionsDatasetFacet,
            "dataQualityMetrics": DataQualityMetricsInputDatasetFacet,
        },
        base.OutputDatasetFacet: {},
    }

    def build(tp: typing.Any, value: typing.Any, path: str) -> typing.Any:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            # `X | None` in the classes means "optional"; a JSON null is still refused below.
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                raise Invalid(path, f"validate.py does not know the type {tp}")
            return build(args[0], value, path)
        if value is None:
            raise Invalid(path, "is null (the schema has no nullable field)")
        if tp is typing.Any:
            return value
        if origin is list:
            if not isinstance(value, list):
                raise Invalid(path, f"is not an array: {value!r}")
            (item,) = typing.get_args(tp)
            return [build(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if origin is dict:
            if not isinstance(value, dict):
                raise Invalid(path, f"is not an object: {value!r}")
            _, item = typing.get_args(tp)
            if item in facets:
                known = facets[item]
                out = {}
                for key, v in value.items():
                    if key not in known:
                        raise Invalid(
                            f"{path}.{key}",
                            f"is not a facet lakegate sends as a {item.__name__} "
                            f"(known: {sorted(known) or 'none'}); add its generated class to validate.py",
                        )
                    out[key] = build(known[key], v, f"{path}.{key}")
                return out
            return {k: build(item, v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            try:
                return tp(value)
            except ValueError:
                raise Invalid(path, f"{value!r} is not one of {[e.value for e in tp]}") from None
        if tp is bool:
            if not isinstance(value, bool):
                raise Invalid(path, f"is not a boolean: {value!r}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(path, f"is not an integer: {value!r}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Invalid(path, f"is not a number: {value!r}")
            return value
        if tp is str:
            if not isinstance(value, str):
                raise Invalid(path, f"is not a string: {value!r}")
            return value
        if isinstance(tp, type) and attr.has(tp):
            return build_object(tp, value, path)
        raise Invalid(path, f"validate.py does not know the type {tp}")

    def build_object(cls: type, value: typing.Any, path: str) -> typing.Any:
        if not isinstance(value, dict):
            raise Invalid(path, f"is not an object ({cls.__name__}): {value!r}")
        fields = {a.name: a for a in attr.fields(cls)}
        hints = typing.get_type_hints(cls)
        for key in value:
            if key not in fields:
                raise Invalid(
                    f"{path}.{key}",
                    f"is not a field of {cls.__name__} (fields: {', '.join(sorted(fields))})",
                )
        kwargs = {}
        for name, a in fields.items():
            if name not in value:
                if a.default is attr.NOTHING or name in ALWAYS_REQUIRED:
                    raise Invalid(path, f"`{name}` is missing ({cls.__name__} requires it)")
                continue
            v = build(hints[name], value[name], f"{path}.{name}")
            if name in FORMATS:
                FORMATS[name](f"{path}.{name}", v)
            if a.init:
                kwargs[a.alias] = v
        try:
            obj = cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise Invalid(path, f"{cls.__name__} refuses it: {e}") from None
        # The fields the class sets itself are its schema URL: what the event says must be that.
        for name, a in fields.items():
            if not a.init and name in value and value[name] != getattr(obj, name):
                raise Invalid(
                    f"{path}.{name}",
                    f"is {value[name]!r}, but {cls.__name__} of openlineage-python {have} "
                    f"is {getattr(obj, name)!r}",
                )
        return obj

    problems = 0
    count = 0
    for file in sys.argv[1:]:
        text = Path(file).read_text()
        decoder = json.JSONDecoder()
        at = 0
        index = 0
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                break
            try:
                event, at = decoder.raw_decode(text, at)
            except json.JSONDecodeError as e:
                print(f"{file}: not JSON: {e}", file=sys.stderr)
                problems += 1
                break
            where = f"{file}: event {index}"
            if isinstance(event, dict):
                job = event.get("job")
                where += f" ({event.get('eventType')} {job.get('name') if isinstance(job, dict) else job})"
            try:
                build_object(base.RunEvent, event, "$")
            except Invalid as e:
                print(f"{where}: {e}", file=sys.stderr)
                problems += 1
            index += 1
            count += 1
    if problems:
        print(f"{problems} of {count} events are invalid", file=sys.stderr)
        return 1
    if count == 0:
        print("no events to validate", file=sys.stderr)
        return 1
    print(f"{count} events valid (RunEvent 2-0-2 and its facets, as openlineage-python {have} models them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
