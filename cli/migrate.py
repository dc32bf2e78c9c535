"""`yibao migrate`: bring every service schema up to date."""
import typer


def migrate_command(
    dsn: str = typer.Option("postgresql://yibao@127.0.0.1:15432/yibao", envvar="YIBAO_PG_DSN", help="PostgreSQL DSN."),
) -> None:
    """Apply the numbered SQL migrations of every service, each in its own schema."""
    from shared.migrate import migrate

    for schema, count in migrate(dsn).items():
        typer.echo(f"{schema}: {count} migration(s) applied")
