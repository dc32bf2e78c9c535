"""The `yibao` command line: one entry point, sub-commands registered by each part."""
import typer

app = typer.Typer(no_args_is_help=True, help="城乡居民医保 enrollment and contribution campaign.")
