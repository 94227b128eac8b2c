"""Click's usage errors (a value of the wrong type, an unknown or missing option) as the
project's one ``error:`` line naming the option and what it accepts, instead of Typer's
usage box; ``nas.cli.app.LazyCommands.main`` turns every one of them into this line."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path

from typer import _click as click  # Typer's own copy of Click
from typer._click import exceptions as errors

ACCEPTS: dict[object, str] = {int: "an integer", float: "a number", Path: "a path", str: "text"}
"""A parameter's annotation -> what it accepts, as the error line says it."""


def usage_line(exc: errors.UsageError, args: Sequence[str], root: click.Command) -> str:
    """The one line (without ``error: ``) for ``exc``, raised while parsing ``args`` of the
    ``root`` command."""
    named, command = _command_of(root, args)  # "nas predictor eval", whatever the prog name
    if isinstance(exc, errors.MissingParameter) and exc.param is not None:
        kind = "option" if _is_option(exc.param) else "argument"
        return f"missing {kind} {_named(exc.param)}: {_described(exc.param)}"
    if isinstance(exc, errors.BadParameter) and exc.param is not None:
        name = _named(exc.param)
        given = _value_of(exc.param, args)
        got = f"got {given!r}" if given is not None else exc.message
        return f"{name} must be {accepts(exc.param)} ({got})"
    if isinstance(exc, errors.NoSuchOption):
        guess = sorted(exc.possibilities or ())
        hint = f" (did you mean {' or '.join(guess)}?)" if guess else ""
        return f"{command} has no option {exc.option_name}{hint}; see {command} --help"
    if isinstance(exc, errors.BadOptionUsage):
        param = _option(exc.ctx.command if exc.ctx is not None else named, exc.option_name)
        if param is not None and exc.message.endswith("requires an argument."):
            return f"option {exc.option_name} needs a value: {accepts(param)}"
    message = exc.format_message().rstrip(".")
    return f"{message[:1].lower()}{message[1:]} (see {command} --help)"


def accepts(param: click.Parameter) -> str:
    """What ``param`` accepts, from its annotation (``int | None`` and ``list[int]`` take an
    integer)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    pending = [annotation]
    while pending:
        current = pending.pop(0)
        if current in ACCEPTS:
            return ACCEPTS[current]
        pending.extend(typing.get_args(current))
    return "a value"


def _is_option(param: click.Parameter) -> bool:
    return any(opt.startswith("-") for opt in param.opts)


def _named(param: click.Parameter) -> str:
    return param.opts[0] if _is_option(param) else (param.name or "argument").upper()


def _described(param: click.Parameter) -> str:
    """``an integer, number of nodes``: what ``param`` accepts, then its help."""
    text = (getattr(param, "help", None) or "").strip().rstrip(".")
    return f"{accepts(param)}, {text[:1].lower()}{text[1:]}" if text else accepts(param)


def _command_of(root: click.Command, args: Sequence[str]) -> tuple[click.Command, str]:
    """The (sub)command that ``args`` name, and its path (``nas predictor eval``)."""
    command, path = root, "nas"
    for arg in args:
        lookup = getattr(command, "get_command", None)  # a group's
        found = lookup(None, arg) if lookup is not None and not arg.startswith("-") else None
        if found is None:
            break
        command, path = found, f"{path} {arg}"
    return command, path


def _option(command: click.Command, name: str) -> click.Parameter | None:
    return next((p for p in command.params if name in p.opts), None)


def _value_of(param: click.Parameter, args: Sequence[str]) -> str | None:
    """The text given for option ``param`` in ``args`` (the last one, as Click keeps), if any."""
    found = None
    for index, arg in enumerate(args):
        for opt in param.opts if _is_option(param) else ():
            if arg == opt and index + 1 < len(args):
                found = args[index + 1]
            elif arg.startswith(f"{opt}="):
                found = arg[len(opt) + 1 :]
    return found
