"""The `yibao` command line: one entry point; each part registers its sub-commands.

Every module named here imports only typer and the standard library at its top: a
command imports what it needs when it runs, so `yibao --help` or one `yibao quote`
does not pay for loading every service (tests/unit/test_cli_startup.py holds this).
"""
import typer

from cli import demo, docs, k8s, kafka_acls, migrate, pack, quote, simulate, topics, whatif
from services.enrollment.cli import app as enrollment_app
from services.identity_certification.cli import app as identity_app
from services.payment_ingest.cli import app as payments_app
from services.reconciliation.cli import app as reconcile_app
from services.subsidy.cli import app as subsidy_app

app = typer.Typer(no_args_is_help=True, help="城乡居民医保 enrollment and contribution campaign.")


@app.callback()
def main() -> None:
    """城乡居民基本医疗保险 enrollment and contribution campaign: services, tools and the local stack."""
    import os

    from shared.logging import configure_logging

    # Every command logs masked JSON lines to stderr: stdout is the command's answer alone (JSON where it prints JSON).
    configure_logging("cli", os.environ.get("YIBAO_LOG_LEVEL", "INFO"))


app.command("migrate")(migrate.migrate_command)
app.command("quote")(quote.quote_command)
app.command("demo")(demo.demo_command)
app.command("whatif")(whatif.whatif_command)
app.add_typer(pack.app, name="pack")
app.add_typer(topics.app, name="topics")
app.add_typer(kafka_acls.app, name="kafka-acls")
app.add_typer(docs.app, name="docs")
app.add_typer(k8s.app, name="k8s")
app.add_typer(simulate.app, name="simulate")
app.add_typer(payments_app, name="payments")
app.add_typer(identity_app, name="identity")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(enrollment_app, name="enrollment")
app.add_typer(subsidy_app, name="subsidy")
