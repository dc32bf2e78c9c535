"""`yibao docs asyncapi`: write (or `--check`) the services' AsyncAPI documents in deploy/asyncapi/."""
import typer

app = typer.Typer(no_args_is_help=True, help="Generated documentation.")


@app.command("asyncapi")
def asyncapi_command(check: bool = typer.Option(False, help="Only verify the checked-in files are current.")) -> None:
    """Generate deploy/asyncapi/<service>.yaml from the services' FastStream apps."""
    from services.registry import specs
    from shared.asyncapi_docs import stale, write

    if check:
        outdated = stale(specs())
        if outdated:
            typer.echo(f"AsyncAPI documents out of date: {', '.join(outdated)}; run `yibao docs asyncapi`", err=True)
            raise typer.Exit(1)
        typer.echo("AsyncAPI documents are current")
        return
    for path in write(specs()):
        typer.echo(f"wrote {path}")
