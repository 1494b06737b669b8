"""Pure campaign rules: parsers and checks that return Vietnamese verdicts. No I/O."""
