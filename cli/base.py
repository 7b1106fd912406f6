"""The base every command-line tool stands on: absl flags, help text, quiet start-up, and one way errors reach the user.

A tool is a module with its own `flags.FlagValues` (importing it registers nothing globally), a module docstring (the
top of its `--help`) and a `main(args)` function; `run(Command(...))` is its console script:

- `--help` (or `-h`, `--helpshort`, `--helpfull`) prints a usage line, the docstring and every flag (`--name=N`)
  with its meaning and default, and exits 0; a tool with subcommands lists them, and `<subcommand> --help` describes
  one (its arguments, and its flags with the defaults of its function);
- a malformed flag, an unknown flag or a stray argument is one line `error: ...` naming it, exit status 2;
- TensorFlow's start-up chatter (CUDA probing, oneDNN and CPU-feature notices, INFO logs) is hidden unless
  `--verbosity` is given (`--verbosity=0` shows INFO, `-1` warnings);
- a `StyleGANError` (the libraries' typed errors: bad input, damaged files, runs that cannot go on) or an `OSError`
  (unwritable paths, a full disk) raised by `main` is printed as one line `error: ...`, exit status 2; Ctrl-C is
  `interrupted`, exit status 130; anything else is a bug and keeps its traceback.
"""
import contextlib
import dataclasses
import inspect
import os
import sys
import tempfile
import textwrap
from typing import Callable, Optional

from absl import flags, logging


@contextlib.contextmanager
def _stderr_captured():
    """Send this process's stderr file descriptor (C++ logs included) to a temporary file; yields that file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield capture
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _import_tensorflow_quietly():
    """Import TensorFlow and probe its devices with stderr captured (its start-up notices hidden: `TF_CPP_MIN_LOG_LEVEL`
    does not hide them all); if that fails, show what it printed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_captured() as capture:
        try:
            import tensorflow as tf
            tf.config.list_physical_devices("GPU")  # CUDA probing prints here
        except BaseException:
            capture.seek(0)
            sys.__stderr__.write(capture.read().decode(errors="replace"))
            raise


# TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX512-VNNI, AVX512-BF16 or AMX; elsewhere
# (AVX2 CPUs such as AMD Zen 3) its fallback kernels train the quickstart 1.6x slower (README, Speed). On unless the
# environment says otherwise; it must be set before TensorFlow is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# Importing stylegan_tf (the next line, and every tool's own imports) imports TensorFlow, which prints its start-up
# notices then: unless the command line asks for them with --verbosity, it is imported here first, quietly.
if not any(arg == "--verbosity" or arg.startswith("--verbosity=") for arg in sys.argv[1:]):
    _import_tensorflow_quietly()

from stylegan_tf.errors import StyleGANError  # noqa: E402 (after the quiet import)
from stylegan_tf.fileio import printable  # noqa: E402

HELP_FLAGS = ("-h", "-help", "--help", "--helpshort", "--helpfull")
#: help text of the tools' `--network` flag (what `stylegan_tf.network_files.resolve_network` accepts)
NETWORK_HELP = ("Network: an official-format .pkl snapshot, a checkpoint directory, or a training run directory (the "
                "newest of its network-snapshot-<kimg>.pkl, network-final.pkl and checkpoints).")
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UsageError(StyleGANError):
    """A malformed command line; the message says what is wrong."""


@dataclasses.dataclass
class Subcommand:
    """A subcommand (`stylegan-dataset create_mnist ...`): `function`'s parameters without defaults are its positional
    arguments, its keyword-only parameters the flags that apply to it (same names as the tool's flags), the first
    paragraph of its docstring the one-line description and the whole docstring its help. `arg_help`: a description of
    each positional argument; `example`: the arguments of one example call."""
    function: Callable
    example: str = ""
    arg_help: dict = dataclasses.field(default_factory=dict)

    @property
    def args(self):
        return [p.name for p in inspect.signature(self.function).parameters.values() if p.default is p.empty]

    @property
    def flags(self):
        """``{flag name: default}`` of the flags that apply (a parameter `from_` is the flag `--from`)."""
        return {p.name.rstrip("_"): p.default for p in inspect.signature(self.function).parameters.values()
                if p.kind is p.KEYWORD_ONLY}


@dataclasses.dataclass
class Command:
    """A command-line tool.

    `name`: the console-script name (`stylegan-generate`); `doc`: the help text; `flag_values`: the tool's own flags;
    `main(args)`: called with the positional arguments once the flags are parsed, returns the exit status (None: 0).
    `positional`: how the help names positional arguments (None: the tool takes none). `subcommands`: ``{name:
    Subcommand}``; then `main` is called as `main(name, args)` for a subcommand, or `main(None, args)` when none is
    given and `default_subcommand_ok`, else that is an error.
    """
    name: str
    doc: str
    flag_values: flags.FlagValues
    main: Callable
    positional: Optional[str] = None
    subcommands: Optional[dict] = None
    default_subcommand_ok: bool = False

    def __post_init__(self):
        if "verbosity" not in self.flag_values:
            flags.DEFINE_integer("verbosity", None, "Show TensorFlow's start-up and log messages: 0 = INFO and up, "
                                 "-1 = warnings and up (default: errors only, start-up notices hidden).",
                                 flag_values=self.flag_values)


def _wrap(text, indent="", width=100):
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent)


#: how `--help` shows the value of a flag of each absl type (`--max_images=N`)
_VALUE_FORMS = {"int": "N", "float": "X", "string": "TEXT", "list": "A,B,..."}


def _flag_form(flag):
    """`--[no]name`, `--name=a|b|c` or `--name=N` (by type)."""
    if flag.flag_type() == "bool":
        return f"--[no]{flag.name}"
    if flag.flag_type() == "string enum":
        return f"--{flag.name}={'|'.join(flag.parser.enum_values)}"
    return f"--{flag.name}={_VALUE_FORMS.get(flag.flag_type(), 'VALUE')}"


def _default_text(value):
    if isinstance(value, bool):
        return str(value).lower()
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _flag_lines(command, names, defaults=None):
    """Help lines of the flags `names` of `command`: `--name=N` and `help (default: ...)`; the defaults are the
    flags' own, or those of `defaults` (``{name: default}``: a subcommand's parameters)."""
    lines = []
    for name in names:
        flag = command.flag_values[name]
        if defaults is not None:
            default = "" if defaults[name] is None else f" (default: {_default_text(defaults[name])})"
        else:
            default = "" if flag.default is None else f" (default: {flag.default_as_str})"
        text = flag.help.split(">: ", 1)[-1] if flag.flag_type() == "string enum" else flag.help  # absl's "<a|b>: "
        lines.append(f"  {_flag_form(flag)}")
        lines.append(_wrap(text + default, "      "))
    return lines


def _usage(command):
    if not command.subcommands:
        return f"usage: {command.name} [flags]" + (f" {command.positional}" if command.positional else "")
    if command.default_subcommand_ok:
        return f"usage: {command.name} [<command> <arguments>] [flags]"
    return f"usage: {command.name} <command> <arguments> [flags]"


def tool_help(command):
    """The text of `--help`: a usage line, the docstring, the subcommands (if any) and every flag with its meaning
    and default."""
    lines = [_usage(command), "", command.doc.strip(), ""]
    if command.subcommands:
        lines.append("commands:")
        for name, sub in command.subcommands.items():
            lines.append(f"  {name} " + " ".join(f"<{a}>" for a in sub.args))
            lines.append(_wrap(inspect.getdoc(sub.function).split("\n\n")[0], "      "))
        lines += ["", f"Run `{command.name} <command> --help` for the flags of a command.", ""]
    lines.append("flags:")
    shared = set()
    if command.subcommands and not command.default_subcommand_ok:  # each subcommand's --help lists its own flags
        shared = {name for sub in command.subcommands.values() for name in sub.flags}
    lines += _flag_lines(command, sorted(n for n in command.flag_values if n not in shared and len(n) > 1
                                         and command.flag_values[n].name == n))
    return "\n".join(lines)


def subcommand_help(command, name):
    """The text of `<subcommand> --help`: usage, description, arguments, the flags that apply and an example."""
    sub = command.subcommands[name]
    lines = [f"usage: {command.name} {name} " + " ".join(f"<{a}>" for a in sub.args) + " [flags]", ""]
    lines += [_wrap(p) + "\n" for p in inspect.getdoc(sub.function).split("\n\n")]
    lines.append("arguments:")
    lines += [f"  <{arg}>".ljust(24) + sub.arg_help.get(arg, "") for arg in sub.args]
    if sub.flags:
        lines += ["", "flags:"] + _flag_lines(command, list(sub.flags), defaults=sub.flags)
    if sub.example:
        lines += ["", "example:", f"  {command.name} {name} {sub.example}"]
    return "\n".join(lines)


def parse(command, argv):
    """Parse `argv` (`[program, ...]`) into `command.flag_values`; returns the positional words.

    Prints help and exits 0 for a help flag; raises `UsageError` for a malformed command line."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        if command.subcommands and words and words[0] in command.subcommands:
            print(subcommand_help(command, words[0]))
        else:
            print(tool_help(command))
        sys.exit(0)
    command.flag_values.unparse_flags()
    try:
        rest = command.flag_values(list(argv))[1:]
    except flags.Error as error:
        raise UsageError(str(error)) from None
    if command.subcommands is None and rest and command.positional is None:
        raise UsageError(f"unexpected argument(s): {' '.join(rest)} (all options are --flags; see "
                         f"`{command.name} --help`)")
    return rest


def check_subcommand(command, words):
    """``(name or None, args)`` of a tool with subcommands, checked against the subcommand's arguments and flags."""
    if not words:
        if command.default_subcommand_ok:
            return None, []
        raise UsageError(f"no command given (commands: {', '.join(command.subcommands)}); see "
                         f"`{command.name} --help`")
    name, args = words[0], words[1:]
    if name not in command.subcommands:
        if command.default_subcommand_ok:
            raise UsageError(f"unexpected argument {name!r} (the only command is "
                             f"{', '.join(repr(n) for n in command.subcommands)}; options are --flags)")
        raise UsageError(f"unknown command {name!r} (commands: {', '.join(command.subcommands)})")
    sub = command.subcommands[name]
    if len(args) != len(sub.args):
        raise UsageError(f"{name} takes {len(sub.args)} argument(s): " + " ".join(f"<{a}>" for a in sub.args)
                         + f" (got {len(args)})")
    owned = {flag for other in command.subcommands.values() for flag in other.flags}
    misplaced = [f"--{flag}" for flag in sorted(owned) if command.flag_values[flag].present and flag not in sub.flags]
    if misplaced:
        verb = "does" if len(misplaced) == 1 else "do"
        raise UsageError(f"{', '.join(misplaced)} {verb} not apply to {name}; see `{command.name} {name} --help`")
    return name, args


def flag_kwargs(command, name):
    """The flags given on the command line that apply to subcommand `name`, as keyword arguments (the flag `--from`
    is the parameter `from_`)."""
    params = {p.name.rstrip("_"): p.name
              for p in inspect.signature(command.subcommands[name].function).parameters.values()}
    return {params[flag]: command.flag_values[flag].value for flag in command.subcommands[name].flags
            if command.flag_values[flag].present}


def start_tensorflow(verbosity):
    """Import TensorFlow and probe its devices, hiding the start-up notices unless `verbosity` is set; absl logging
    at errors only (or at `verbosity`). If start-up fails, what TensorFlow printed is shown."""
    if verbosity is None:
        _import_tensorflow_quietly()
        logging.set_verbosity(logging.ERROR)
        import tensorflow as tf
        tf.get_logger().setLevel("ERROR")
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbosity >= 0 else "1")
        logging.set_verbosity(verbosity)
        import tensorflow  # noqa: F401


def error_message(error):
    """One line for a `StyleGANError` or `OSError`, control characters (of file names) escaped."""
    if isinstance(error, OSError) and not isinstance(error, StyleGANError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        return printable(f"{where}: {error.strerror}" if where else error.strerror)
    return printable(" ".join(str(error).split()) or type(error).__name__)


def fail(message, status=EXIT_ERROR):
    """Print `error: <message>` on stderr and exit with `status`."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(status)


def run(command, argv=None):
    """The console script of `command`: parse, start TensorFlow quietly, call `main`, map errors; exits."""
    argv = list(sys.argv if argv is None else argv)
    try:
        words = parse(command, argv)
        if command.subcommands is not None:
            name, args = check_subcommand(command, words)
            start_tensorflow(command.flag_values.verbosity)
            status = command.main(name, args)
        else:
            start_tensorflow(command.flag_values.verbosity)
            status = command.main(words)
    except UsageError as error:
        fail(f"{error_message(error)} (see `{command.name} --help`)")
    except BrokenPipeError:  # whoever read our output stopped (`| head`): end quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except (StyleGANError, OSError) as error:
        fail(error_message(error))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr, flush=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status or 0)
