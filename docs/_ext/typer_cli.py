"""``.. typer-cli:: module:app``: the ``--help`` of every command of a typer app.

The directive imports the app, walks its click command tree (``typer.main.get_command``) and
runs ``<prog> <command> --help`` for the root and every visible command through typer's test
runner, so the page shows exactly what a user's terminal shows, at the build's version of the
CLI. Each command gets a section (``prog command``) with its one-line summary.
"""

import importlib

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

#: Terminal the help is rendered for: plain text, a width that fits the page body.
HELP_ENV = {"TERMINAL_WIDTH": "88", "COLUMNS": "88", "NO_COLOR": "1", "TERM": "dumb"}


def load_app(spec):
    """The object named by ``"package.module:attribute"``."""
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ExtensionError(f"typer-cli: expected 'module:app', got {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def command_paths(app):
    """``(path, click command)`` for the root (path ``()``) and every visible subcommand."""
    import typer.main

    root = typer.main.get_command(app)
    found = []

    def walk(path, command, parent_ctx):
        found.append((path, command))
        if not hasattr(command, "list_commands"):
            return
        ctx = command.make_context(" ".join(path) or "cli", [], parent=parent_ctx,
                                   resilient_parsing=True)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                walk((*path, name), sub, ctx)

    walk((), root, None)
    return found


def render_help(app, path, prog):
    """The text ``prog *path --help`` prints, trailing spaces and blank edges removed."""
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*path, "--help"], prog_name=prog, env=HELP_ENV)
    if result.exit_code != 0:
        raise ExtensionError(f"typer-cli: '{prog} {' '.join(path)} --help' exited with "
                             f"{result.exit_code}: {result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


class TyperCliDirective(SphinxDirective):
    """Render the help of every command of a typer app."""

    required_arguments = 1
    option_spec = {"prog": directives.unchanged_required}

    def run(self):
        spec = self.arguments[0]
        prog = self.options.get("prog", "cli")
        app = load_app(spec)
        module = importlib.import_module(spec.partition(":")[0])
        if getattr(module, "__file__", None):
            self.env.note_dependency(module.__file__)
        lines = []
        for path, command in command_paths(app):
            title = " ".join((prog, *path))
            lines += [title, "-" * len(title), ""]
            summary = (command.short_help or (command.help or "").strip().split("\n")[0]).strip()
            if path and summary:
                lines += [summary, ""]
            lines += ["::", ""]
            help_text = render_help(app, path, prog)
            lines += ["   " + line if line else "" for line in help_text.split("\n")]
            lines.append("")
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=f"typer-cli {spec}"),
                                 container)
        return container.children


def setup(app):
    app.add_directive("typer-cli", TyperCliDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
