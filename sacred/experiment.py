"""The Experiment: the central class, an Ingredient with a main function, observers
and a command-line interface."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sacred.exceptions import (
    CommandLineError,
    CommandNotFoundError,
    SacredError,
    did_you_mean,
)
from sacred.ingredient import Ingredient, PathType, globals_of_caller
from sacred.run import Run

__all__ = ["Experiment"]

# Exit codes of the command line: 2 for a mistake in how it was called (like argparse),
# 1 for a failed run, 128 + signal number for interrupted runs (like a shell).
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Experiment(Ingredient):
    """The central class for each experiment in Sacred.

    It manages the configuration, the main function, captured methods, observers,
    commands, and further ingredients. An Experiment instance should be created as
    one of the first things in any experiment file.
    """

    def __init__(
        self,
        name: str | None = None,
        ingredients: Sequence[Ingredient] = (),
        interactive: bool = False,
        base_dir: PathType | None = None,
        additional_host_info: list | None = None,
        additional_cli_options: Sequence | None = None,
        save_git_info: bool = True,
    ) -> None:
        """Create a new experiment with the given name and optional ingredients.

        ``name`` defaults to the main file's name (without extension) and is
        required in interactive mode.
        """
        caller_globals = globals_of_caller()
        if name is None:
            main_file = caller_globals.get("__file__")
            if interactive or not main_file:
                raise SacredError(
                    "An experiment created in an interactive session needs a name: "
                    "Experiment('my_experiment', interactive=True)"
                )
            name = os.path.splitext(os.path.basename(main_file))[0]
        super().__init__(
            path=name,
            ingredients=ingredients,
            interactive=interactive,
            _caller_globals=caller_globals,
            base_dir=base_dir,
            save_git_info=save_git_info,
        )
        self.default_command: str | None = None
        self.observers: list = []
        """Observers added to every run of this experiment."""
        self.current_run: Run | None = None
        self.captured_out_filter: Callable[[str], str] | None = None
        """Filter function to be applied to captured output of a run"""
        self.option_hooks: list[Callable] = []
        self.additional_host_info = list(additional_host_info or [])
        self.additional_cli_options = list(additional_cli_options or [])

        from sacred import commands as builtin

        self.command(builtin.print_config, unobserved=True)
        self.command(builtin.print_dependencies, unobserved=True)
        self.command(builtin.save_config, unobserved=True)
        self.command(builtin.make_print_named_configs(self), unobserved=True)

    # -- main function ----------------------------------------------------------------

    def main(self, function: Callable) -> Any:
        """Decorator to define the main function of the experiment: the default command
        run when no command is given on the command line or to run()."""
        captured = self.command(function)
        self.default_command = function.__name__
        return captured

    def automain(self, function: Callable) -> Any:
        """Decorator that defines the main function and runs the command-line interface
        when the file is executed (it should be the last thing in the file)."""
        captured = self.main(function)
        if function.__module__ == "__main__":
            self.run_commandline()
        return captured

    def option_hook(self, function: Callable) -> Callable:
        """Decorator for a function called with the options dict (``options=``) right
        before a run is created; it may change the flags (keys starting with '--')."""
        import inspect

        params = list(inspect.signature(function).parameters)
        if "options" not in params:
            from sacred.exceptions import InvalidOptionHookError

            raise InvalidOptionHookError(
                f"option_hook functions must have an argument called 'options': "
                f"{function.__name__!r} takes ({', '.join(params)})."
            )
        self.option_hooks.append(function)
        return function

    # -- running ----------------------------------------------------------------------

    @property
    def all_cli_options(self) -> list:
        from sacred.commandline_options import DEFAULT_OPTIONS
        from sacred.worker.resume import resume_option

        return list(DEFAULT_OPTIONS) + [resume_option] + list(self.additional_cli_options)

    def get_default_options(self) -> dict:
        """Options dict as used with run(): keys like '--beat_interval'; flags are
        False, other options None."""
        return {opt.key: (False if opt.is_flag else None) for opt in self.all_cli_options}

    def run(
        self,
        command_name: str | None = None,
        config_updates: dict | None = None,
        named_configs: Sequence[str] = (),
        info: dict | None = None,
        meta_info: dict | None = None,
        options: dict | None = None,
    ) -> Run:
        """Run the main function of the experiment or a given command.

        Returns the Run object of the finished run; an exception raised by the run
        propagates after the run was recorded as failed.
        """
        from sacred._worker_env import claim_token_scope

        with claim_token_scope():
            run = self._create_run(
                command_name, config_updates, named_configs, info, meta_info, options
            )
            # current_run keeps pointing at this run after it ended, as in the original:
            # ex.current_run.result, .info and .config are read after ex.run() returns.
            run()
        return run

    def _create_run(
        self,
        command_name: str | None = None,
        config_updates: dict | None = None,
        named_configs: Sequence[str] = (),
        info: dict | None = None,
        meta_info: dict | None = None,
        options: dict | None = None,
    ) -> Run:
        from sacred.commandline_options import normalize_options
        from sacred.initialize import create_run

        all_options = self.all_cli_options
        opts = self.get_default_options()
        if options:
            opts.update(normalize_options(options, all_options))
        stored_config = None
        # --resume starts from the stored record (a worker's child gets it from the worker)
        from sacred._worker_env import WORKER_META_ENV

        if opts.get("--resume") not in (None, False) and not os.environ.get(WORKER_META_ENV):
            from sacred.worker.resume import resume_start

            command_name, stored_config = resume_start(self, opts, all_options, command_name)
        command_name = command_name or self.default_command
        if command_name is None:
            raise CommandNotFoundError(
                f"Experiment {self.path!r} has no main function and no command was given. "
                "Decorate a function with @ex.main or @ex.automain, or name a command: "
                + ", ".join(sorted(name for name, _ in self.gather_commands()))
            )
        for hook in self.option_hooks:
            hook(options=opts)

        def create(named: Sequence[Any]) -> Run:
            return create_run(
                self,
                command_name,
                config_updates,
                named,
                force=bool(opts.get("--force")),
                log_level=opts.get("--loglevel"),
            )

        # A claimed named config (a labwatch search space) is claimed here, before the
        # configuration process, and enters it as a mapping (sacred/claimed_config.py).
        from sacred.claimed_config import claim_named_configs, release_claims

        named, claims = claim_named_configs(self, command_name, config_updates, named_configs, opts)
        try:
            if stored_config is None:
                run = create(named)
            else:
                from sacred.worker.resume import create_resumed

                run = create_resumed(create, stored_config, named, config_updates or {})
        except BaseException:
            release_claims(claims)
            raise
        run.meta_info.update(
            {
                "command": command_name,
                "options": _stored_options(opts, all_options),
                # the order the original stores them in (Mongo, TinyDB keep it)
                "named_configs": list(named_configs),
                "config_updates": copy.deepcopy(config_updates or {}),
            }
        )
        for _, claimed in claims:
            run.meta_info.update(claimed.meta)
            if claimed.run_id is not None:
                run._id = claimed.run_id
        if meta_info:
            run.meta_info.update(meta_info)
        if os.environ.get(WORKER_META_ENV):  # started by a worker: keep its record's meta
            from sacred._worker_env import inherited_meta

            kept = {k: v for k, v in inherited_meta().items() if k not in ("command", "options")}
            run.meta_info.update(kept)
        if info:
            run.info.update(info)
        for option in all_options:
            value = opts.get(option.key)
            if option.key == "--help" or value is None or value is False:
                continue
            option(value, run)
        self.current_run = run
        return run

    def run_commandline(self, argv: str | list[str] | None = None) -> Run | None:
        """Run the command-line interface of this experiment.

        ``argv`` defaults to ``sys.argv`` (a string is split like a shell would).
        Returns the Run of the finished run, or None for help. Mistakes on the
        command line print one message and exit with status 2; a failed run prints
        its (filtered) stack trace and exits with status 1.
        """
        if argv is None:
            argv = sys.argv
        elif isinstance(argv, str):
            import shlex

            argv = shlex.split(argv)
        argv = list(argv)
        program = os.path.basename(argv[0]) if argv else self.path
        from sacred._worker_env import claim_token_scope

        with claim_token_scope():
            return self._run_commandline(argv, program)

    def _run_commandline(self, argv: list[str], program: str) -> Run | None:
        try:
            run = self._run_from_argv(argv[1:], program)
        except SacredError as exc:  # a mistake in the call: one message, no traceback
            _exit_with_message(program, str(exc), EXIT_USAGE)
        except Exception as exc:  # the user's config code failed before the run started
            from sacred._traceback import format_filtered_stacktrace

            print("".join(format_filtered_stacktrace(exc)), file=sys.stderr, end="")
            sys.exit(EXIT_FAILED)
        if run is None:
            return None
        try:
            run()
        except BaseException as exc:
            if run.debug or run.pdb:
                raise
            _exit_for_failed_run(run, exc, program)
        # An observer that could not store the run (a QueueObserver that gave up and
        # left a dump; it logged where) makes the command fail: the record is not there.
        if any(getattr(o, "incomplete_record", None) for o in run.observers):
            sys.exit(EXIT_FAILED)
        return run

    def _run_from_argv(self, args: list[str], program: str) -> Run | None:
        from sacred.arg_parser import format_command_help, get_config_updates, parse_args

        commands = dict(self.gather_commands())
        parsed = parse_args(
            args,
            commands={name: (cmd.__doc__ or "") for name, cmd in commands.items()},
            options=self.all_cli_options,
            program_name=program,
        )
        if parsed.get("help") or parsed.get("--help"):
            name = parsed.get("COMMAND")
            if name:
                if name not in commands:
                    raise CommandLineError(
                        f"Unknown command {name!r}.{did_you_mean(name, commands)} "
                        f"Commands: {', '.join(sorted(commands))}."
                    )
                print(format_command_help(name, commands[name]))
            else:
                print(self.get_usage(program))
            return None
        config_updates, named_configs = get_config_updates(parsed.get("UPDATE") or [])
        return self._create_run(
            parsed.get("COMMAND"), config_updates, named_configs, options=parsed
        )

    def get_usage(self, program_name: str | None = None) -> str:
        """Get the command-line usage string for this experiment."""
        from sacred.arg_parser import format_usage

        commands = {name: (cmd.__doc__ or "") for name, cmd in self.gather_commands()}
        return format_usage(
            program_name or (self.path + ".py"), self.doc, commands, self.all_cli_options
        )

    # -- inside a run -------------------------------------------------------------------

    def _running(self, what: str) -> Run:
        run = self.current_run
        if run is None or run.status != "RUNNING":
            raise RuntimeError(f"{what} can only be used while the experiment is running")
        return run

    @property
    def info(self) -> dict:
        """The info dict of the current run, same as ``_run.info`` (after the run
        ended: the info of the last run)."""
        if self.current_run is None:
            raise RuntimeError("ex.info is only available once the experiment is running")
        return self.current_run.info

    def log_scalar(self, name: str, value: float, step: int | None = None) -> None:
        """Add a new measurement to the current run (see Run.log_scalar)."""
        self._running("ex.log_scalar").log_scalar(name, value, step)

    def add_resource(self, filename: str | os.PathLike) -> None:
        """Add a file as a resource of the current run."""
        self._running("ex.add_resource").add_resource(filename)

    def open_resource(self, filename: str | os.PathLike, mode: str = "r"):
        """Open a file and also save it as a resource of the current run."""
        return self._running("ex.open_resource").open_resource(filename, mode)

    def add_artifact(
        self,
        filename: str | os.PathLike,
        name: str | None = None,
        metadata: dict | None = None,
        content_type: str | None = None,
    ) -> None:
        """Add a file produced by the current run as an artifact."""
        self._running("ex.add_artifact").add_artifact(filename, name, metadata, content_type)


# The keys under which the original stores two of the documented flags in
# meta.options (see the sacred-0.8.7 fixture stores); every other flag is stored
# under its long flag as declared.
_STORED_KEYS = {"--beat_interval": "--beat-interval", "--print_config": "--print-config"}


def _stored_options(options: dict, all_options: list) -> dict:
    """The options dict as the original records it in ``meta.options``: one entry per
    flag (unset flags False or None), plus the command line's own entries."""
    stored = {}
    for option in all_options:
        key = _STORED_KEYS.get(option.key, option.long_flag)
        value = options.get(option.key, False if option.is_flag else None)
        if option.key == "--resume" and value is None:
            continue  # not a flag of the original: recorded only when used
        stored[key] = value
    for key in ("COMMAND", "UPDATE", "help", "with"):
        if key in options:
            stored[key] = options[key]
    return stored


def _exit_with_message(program: str, message: str, code: int) -> None:
    print(f"{program}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _exit_for_failed_run(run: Run, exc: BaseException, program: str) -> None:
    if isinstance(exc, SystemExit):
        raise exc
    from sacred._traceback import raised_by_sacred

    if isinstance(exc, SacredError) and raised_by_sacred(exc):
        # A deliberate error of sacred's with only sacred's own frames: the message
        # says all, a trace would only confuse. (A bug in sacred, an exception of
        # another type, keeps its trace.)
        _exit_with_message(program, str(exc), EXIT_FAILED)
    if run.fail_trace or run.start_time is None:
        # A failed run, or one that did not start (an error in a config scope, a hook
        # or an observer): the trace without sacred's own frames unless --debug.
        from sacred._traceback import format_filtered_stacktrace

        trace = format_filtered_stacktrace(exc, filter_traceback=not run.debug)
        print("".join(trace), file=sys.stderr, end="")
    if isinstance(exc, KeyboardInterrupt):
        sys.exit(EXIT_INTERRUPTED)
    if type(exc).__name__ == "_Terminated":
        sys.exit(EXIT_TERMINATED)
    sys.exit(EXIT_FAILED)
