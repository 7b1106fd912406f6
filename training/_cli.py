"""Command-line plumbing shared by the tools with their own flags (stylegan-generate, -export,
-convert): one-line usage errors, help text from the module docstring."""
import sys

from absl import flags, logging


def fail(message):
    """Report a usage error on one line and exit with status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def flags_parser(flag_values, doc):
    """An absl ``flags_parser`` for a tool whose flags are ``flag_values``: ``--help`` prints
    ``doc`` and the flags; malformed flags or stray arguments give a one-line error, exit 2."""

    def parse(argv):
        if any(arg in ("-h", "-help", "--help", "--helpshort", "--helpfull") for arg in argv[1:]):
            print(doc.strip() + "\n\nflags:"
                  + flag_values.get_help(include_special_flags=False))
            sys.exit(0)
        flag_values.unparse_flags()
        try:
            rest = flag_values(argv)
        except flags.Error as error:
            fail(error)
        if len(rest) > 1:
            fail(f"unexpected argument(s): {' '.join(rest[1:])} (all options are --flags)")
        flags.FLAGS(argv[:1])  # absl.app needs its global flags parsed; the tools take none of them
        logging.set_verbosity(logging.WARNING)  # no TensorFlow INFO lines
        return rest

    return parse
