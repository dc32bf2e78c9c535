"""The `yibao` command line: one entry point, sub-commands registered by each part."""
import typer

app = typer.Typer(no_args_is_help=True, help="城乡居民医保 enrollment and contribution campaign.")


@app.callback()
def main() -> None:
    """城乡居民基本医疗保险 enrollment and contribution campaign: services, tools and the local stack."""

from shared.cli.migrate import migrate_command  # noqa: E402

app.command("migrate")(migrate_command)

from shared.cli.topics import app as topics_app  # noqa: E402

app.add_typer(topics_app, name="topics")

from shared.cli.kafka_acls import app as kafka_acls_app  # noqa: E402

app.add_typer(kafka_acls_app, name="kafka-acls")

from shared.cli.quote import quote_command  # noqa: E402

app.command("quote")(quote_command)

from shared.cli.demo import demo_command  # noqa: E402

app.command("demo")(demo_command)

from shared.cli.docs import app as docs_app  # noqa: E402

app.add_typer(docs_app, name="docs")

from shared.cli.simulate import app as simulate_app  # noqa: E402

app.add_typer(simulate_app, name="simulate")

from services.payment_ingest.cli import app as payments_app  # noqa: E402

app.add_typer(payments_app, name="payments")

from shared.cli.identity import app as identity_app  # noqa: E402

app.add_typer(identity_app, name="identity")

from shared.cli.reconciliation import app as reconcile_app  # noqa: E402

app.add_typer(reconcile_app, name="reconcile")

from shared.cli.enrollment import app as enrollment_app  # noqa: E402

app.add_typer(enrollment_app, name="enrollment")

from shared.cli.subsidy import app as subsidy_app  # noqa: E402

app.add_typer(subsidy_app, name="subsidy")
